using System.Buffers.Binary;
using System.Text;
using EmbeddedVectors.Storage;
using EmbeddedVectors.Tests.Cli;
using EmbeddedVectors.Tests.Store;

namespace EmbeddedVectors.Tests.Trust;

/// <summary>
/// <see cref="EmbeddedVectorStore.Repair"/> and <c>ev verify --repair</c>: a damaged or missing segment is taken
/// out and its entries come back from the log or from the segment's intact parts; what neither holds is reported
/// id by id, and the store opens again without it.
/// </summary>
[Collection("Console")]
public sealed class RepairTests
{
    private const int Dimension = 16;
    private const int Entries = 600;

    private static readonly EmbeddedVectorStoreOptions Options = new()
    {
        Dimension = Dimension, NList = 4, M = 4, TrainingThreshold = 300, SealThreshold = 100_000, MergeFactor = 0,
        Rows = RowEncoding.Float32, Fields = [new FieldDefinition("n", FieldType.Long)],
    };

    [Fact]
    public void A_missing_segment_file_is_rebuilt_from_the_log()
    {
        using var dir = new TempStoreDirectory();
        long damaged = Build(dir.Path, compact: false); // the log still holds the seal's records
        File.Delete(Path.Combine(dir.Path, SegmentWriter.CodesFileName(damaged)));
        var failure = Record.Exception(() => EmbeddedVectorStore.Open(dir.Path).Dispose());
        Assert.True(failure is FileNotFoundException or CorruptFileException, $"{failure}");
        Assert.Contains(SegmentWriter.CodesFileName(damaged), failure.Message);

        var result = Ev.Run("verify", dir.Path, "--repair");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("nothing lost", result.Out);
        Assert.Contains($"removed segment {damaged}", result.Out);
        Assert.Contains($"{Entries - 2} entries recovered from the log", result.Out);
        CheckAllBack(dir.Path);
    }

    [Fact]
    public void Keeping_the_newest_seal_in_the_log_recovers_the_newest_segment_only()
    {
        using var dir = new TempStoreDirectory();
        using (var store = EmbeddedVectorStore.Create(dir.Path, Options with { KeepNewestSealInLog = true }))
        {
            foreach (int from in new[] { 0, 300 })
            {
                for (int id = from; id < from + 300; id++) store.Add(id, VectorOf(id), Encoding.UTF8.GetBytes($"entry {id}"), null);
                store.Commit();
                store.Flush(); // the second seal truncates the log to where the first ended
            }
        }
        foreach (var segment in Manifest.Read(dir.Path).Segments) File.Delete(Path.Combine(dir.Path, SegmentWriter.CodesFileName(segment.Number)));

        var report = EmbeddedVectorStore.Repair(dir.Path);
        Assert.Equal(2, report.RemovedSegments.Count);
        Assert.Equal(300, report.RecoveredFromLog);
        Assert.Equal(300, report.UnidentifiedLost);
        using var reopened = EmbeddedVectorStore.Open(dir.Path);
        Assert.Equal(300, reopened.Count);
        Assert.Equal("entry 450", Encoding.UTF8.GetString(reopened.Get(450)!.Payload));
        Assert.Null(reopened.Get(150));
    }

    [Fact]
    public void A_segment_with_damaged_codes_is_rebuilt_from_its_rows_payloads_and_fields()
    {
        using var dir = new TempStoreDirectory();
        long damaged = Build(dir.Path, compact: true); // compaction emptied the log
        FlipRegionByte(Path.Combine(dir.Path, SegmentWriter.CodesFileName(damaged)), SegmentHeader.CodesRegion);
        Assert.NotEmpty(EmbeddedVectorStore.Verify(dir.Path));

        var report = EmbeddedVectorStore.Repair(dir.Path);
        Assert.Equal([damaged], report.RemovedSegments);
        Assert.Equal(0, report.RecoveredFromLog);
        Assert.Equal(Entries - 3, report.RecoveredFromSegments);
        Assert.True(report.NothingLost);
        Assert.True(File.Exists(Path.Combine(report.SetAsideDirectory!, SegmentWriter.CodesFileName(damaged))));
        CheckAllBack(dir.Path);
        Assert.True(EmbeddedVectorStore.Repair(dir.Path) is { Problems.Count: 0, RemovedSegments.Count: 0 }); // a sound store is left alone
    }

    [Fact]
    public void A_segment_whose_rows_are_damaged_and_whose_log_is_gone_reports_exactly_the_lost_ids()
    {
        using var dir = new TempStoreDirectory();
        long damaged = Build(dir.Path, compact: true);
        FlipRegionByte(Path.Combine(dir.Path, SegmentWriter.VectorsFileName(damaged)), SegmentHeader.VectorsRegion);

        var report = EmbeddedVectorStore.Repair(dir.Path);
        // Every entry of the segment but the deleted (5, 6) and the replaced one (7, live in a later segment).
        var expectedLost = Enumerable.Range(0, Entries).Where(id => id is not (5 or 6 or 7)).Select(id => (long)id).ToList();
        Assert.Equal(expectedLost, report.LostIds);
        Assert.Equal(0, report.RecoveredFromLog + report.RecoveredFromSegments);
        Assert.False(report.NothingLost);
        Assert.Empty(EmbeddedVectorStore.Verify(dir.Path));
        using var store = EmbeddedVectorStore.Open(dir.Path);
        Assert.Equal(1, store.Count);
        Assert.Equal("replaced 7", Encoding.UTF8.GetString(store.Get(7)!.Payload));
        Assert.Null(store.Get(8));
    }

    [Fact]
    public void Ev_verify_repair_prints_the_lost_ids_and_fails()
    {
        using var dir = new TempStoreDirectory();
        long damaged = Build(dir.Path, compact: true);
        File.Delete(Path.Combine(dir.Path, SegmentPayloads.FileName(damaged)));
        Assert.Equal(1, Ev.Run("verify", dir.Path).ExitCode);

        var result = Ev.Run("verify", dir.Path, "--repair");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"lost {Entries - 3} ids: 0 1 2 3 4 8 9 10", result.Out);
        Assert.Contains("opens again, but entries were lost", result.Error);
        Assert.Equal("ok", Ev.Run("verify", dir.Path).Out.Trim());
    }

    /// <summary>
    /// Ids 0..599 (trained at 300), 5 and 6 deleted, 7 replaced. <paramref name="compact"/>: all in one segment
    /// sealed and compacted (which empties the log), then the deletes and the replacement, which the close seals
    /// into a second segment and the first one's deletion file; else everything in one seal that
    /// <see cref="EmbeddedVectorStoreOptions.KeepNewestSealInLog"/> keeps in the log. Returns the number of the
    /// segment holding ids 0..599.
    /// </summary>
    private static long Build(string directory, bool compact)
    {
        using var store = EmbeddedVectorStore.Create(directory, Options with { KeepNewestSealInLog = !compact });
        var ids = new long[Entries];
        var vectors = new float[Entries * Dimension];
        var payloads = new byte[Entries][];
        var fields = new FieldValues?[Entries];
        for (int i = 0; i < Entries; i++)
        {
            ids[i] = i;
            VectorOf(i).CopyTo(vectors, i * Dimension);
            payloads[i] = Encoding.UTF8.GetBytes($"entry {i}");
            fields[i] = new FieldValues().Set("n", (long)i);
        }
        store.AddRange(ids, vectors, payloads, fields);
        store.Commit();
        if (compact)
        {
            store.Flush();
            store.Compact();
        }
        store.Delete(5);
        store.Delete(6);
        store.Add(7, VectorOf(7), Encoding.UTF8.GetBytes("replaced 7"), new FieldValues().Set("n", 7L));
        store.Commit();
        store.Flush();
        return Manifest.Read(directory).Segments[0].Number;
    }

    private static void CheckAllBack(string directory)
    {
        Assert.Empty(EmbeddedVectorStore.Verify(directory));
        using var store = EmbeddedVectorStore.Open(directory);
        Assert.Equal(Entries - 2, store.Count);
        for (int id = 0; id < Entries; id++)
        {
            var entry = store.Get(id);
            if (id is 5 or 6)
            {
                Assert.Null(entry);
                continue;
            }
            Assert.NotNull(entry);
            Assert.Equal(VectorOf(id), entry.Vector);
            Assert.Equal(id == 7 ? "replaced 7" : $"entry {id}", Encoding.UTF8.GetString(entry.Payload));
        }
        foreach (long id in new long[] { 0, 7, 123, 599 })
        {
            var hits = store.Search(VectorOf(id), 5, new StoreSearchOptions { NProbe = 4, Where = Filter.Field("n") == id });
            Assert.Equal(id, Assert.Single(hits).Id);
        }
    }

    /// <summary>Flips one byte in the middle of region <paramref name="region"/> of a segment file (its offset and length from the header's region table).</summary>
    private static void FlipRegionByte(string path, int region)
    {
        var bytes = File.ReadAllBytes(path);
        int entry = SegmentHeader.RegionsOffset + region * SegmentHeader.RegionEntrySize;
        long offset = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(entry));
        long length = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(entry + 8));
        bytes[offset + length / 2] ^= 0x40;
        File.WriteAllBytes(path, bytes);
    }

    private static float[] VectorOf(long id)
    {
        var vector = new float[Dimension];
        for (int j = 0; j < Dimension; j++) vector[j] = (float)((id * 7919 + j * 104729) % 1000) / 1000f;
        return vector;
    }
}
