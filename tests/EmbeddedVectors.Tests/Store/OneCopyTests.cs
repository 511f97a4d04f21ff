using EmbeddedVectors.Storage;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Tests.Store;

/// <summary>
/// Once sealed, an entry's payload lives in its segment's payload file and the write-ahead log gives its copy
/// back; stores written before keep working and are upgraded by merging or compaction.
/// </summary>
public sealed class OneCopyTests
{
    private static readonly string LegacyFixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "legacy-v1");

    private static EmbeddedVectorStoreOptions Options() => new()
    {
        Dimension = RealData.Instance.Dimension,
        NList = 32,
        M = 48,
        TrainingThreshold = 1000,
        SealThreshold = 2000,
        LogSegmentBits = 22, // 4 MiB log files, so a small test shows the space coming back
        KMeans = new KMeansOptions { Iterations = 6 },
    };

    private static string Payload(int row) => $"{{\"row\": {row}, \"text\": \"{new string('x', 150)}\"}}";

    private static long DirectoryBytes(string path) => new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);

    [Fact]
    public void Sealed_entries_leave_the_log_and_their_payloads_live_in_the_segments()
    {
        using var dir = new TempStoreDirectory();
        const int rows = 14_000;
        using (var store = EmbeddedVectorStore.Create(dir.Path, Options()))
        {
            for (int from = 0; from < rows; from += 2000) RealRows.Add(store, from, 2000, Payload);
            store.Flush();
            store.WaitForMerges();
            var info = store.GetInfo();
            double payloadBytes = Enumerable.Range(0, rows).Average(row => Payload(row).Length);
            // The write-ahead copies (~1.7 KB an entry, 24 MB here) are gone but for the log file in use.
            Assert.True(DirectoryBytes(Path.Combine(dir.Path, "log")) <= 2 * (4 << 20), $"log: {DirectoryBytes(Path.Combine(dir.Path, "log"))} bytes");
            // Each payload once, with its 8-byte record header (and a 64-byte file header a segment).
            Assert.InRange(info.BytesPerEntry.Payloads, payloadBytes + SegmentPayloads.RecordHeaderSize, payloadBytes + SegmentPayloads.RecordHeaderSize + 1);
            Assert.Equal(2.0 * RealData.Instance.Dimension, info.BytesPerEntry.Rows, 2.0); // float16 rows (the default), plus a 4 KiB header a segment
            Assert.Equal(20.0, info.BytesPerEntry.Ids, 0.01); // id, payload address, id index position
            // Issue 8's target: code + row + payload + at most 32 bytes an entry (the log and the shared files aside).
            double codeSize = Options().M;
            Assert.True(info.BytesPerEntry.Codes - codeSize + info.BytesPerEntry.Ids + info.BytesPerEntry.Payloads - payloadBytes <= 32,
                $"codes {info.BytesPerEntry.Codes}, ids {info.BytesPerEntry.Ids}, payloads {info.BytesPerEntry.Payloads} ({payloadBytes} payload bytes)");
            Assert.Equal(Payload(1234), store.Get(1234)!.PayloadText);
        }
        using var reopened = EmbeddedVectorStore.Open(dir.Path, new EmbeddedVectorStoreOptions { ReadOnly = true });
        Assert.Equal(rows, reopened.Count);
        Assert.Equal(Payload(13_999), reopened.Get(13_999)!.PayloadText);
        Assert.Equal(Payload(7), reopened.Search(RealRows.Row(7), 1, new StoreSearchOptions { NProbe = 32, Rerank = 10 })[0].PayloadText);
        Assert.Empty(EmbeddedVectorStore.Verify(dir.Path));
    }

    [Fact]
    public void A_store_written_before_keeps_its_payloads_through_seals_and_compaction()
    {
        using var dir = new TempStoreDirectory();
        foreach (string file in Directory.EnumerateFiles(Path.Combine(LegacyFixtures, "legacy-pq8"), "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(dir.Path, Path.GetRelativePath(Path.Combine(LegacyFixtures, "legacy-pq8"), file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        var before = new Dictionary<long, string>();
        using (var store = EmbeddedVectorStore.Open(dir.Path, new EmbeddedVectorStoreOptions { ReadOnly = true }))
            for (long id = 0; id < 600; id++) if (store.Get(id) is { } entry) before[id] = entry.PayloadText;
        Assert.Equal(597, before.Count);

        using (var store = EmbeddedVectorStore.Open(dir.Path))
        {
            store.Add(1000, RealRows.Row(1000), "new");
            store.Flush(); // the log tail is sealed into a segment with a payload file; the old segment still reads the log
            Assert.Equal(2, store.GetInfo().Segments);
            foreach (var (id, payload) in before) Assert.Equal(payload, store.Get(id)!.PayloadText);
            store.Compact();
            Assert.Equal(1, store.GetInfo().Segments);
            Assert.True(store.GetInfo().BytesPerEntry.Log < 2000, "the log is given back once no segment reads from it");
        }
        var manifest = Manifest.Read(dir.Path);
        Assert.All(manifest.Segments, segment => Assert.True(segment.Payloads));
        using var reopened = EmbeddedVectorStore.Open(dir.Path);
        foreach (var (id, payload) in before) Assert.Equal(payload, reopened.Get(id)!.PayloadText);
        Assert.Equal("new", reopened.Get(1000)!.PayloadText);
        Assert.Empty(EmbeddedVectorStore.Verify(dir.Path));
    }

    [Fact]
    public void A_damaged_payload_is_a_clear_error_and_verify_names_the_file()
    {
        using var dir = new TempStoreDirectory();
        using (var store = EmbeddedVectorStore.Create(dir.Path, Options()))
        {
            RealRows.Add(store, 0, 1500, Payload);
            store.Flush();
        }
        string file = Path.Combine(dir.Path, SegmentPayloads.FileName(1));
        var bytes = File.ReadAllBytes(file);
        bytes[SegmentPayloads.HeaderSize + SegmentPayloads.RecordHeaderSize + 3] ^= 0x20; // inside the first record's payload
        File.WriteAllBytes(file, bytes);
        using var reopened = EmbeddedVectorStore.Open(dir.Path, new EmbeddedVectorStoreOptions { ReadOnly = true });
        int damaged = 0;
        for (long id = 0; id < 1500; id++)
        {
            try { reopened.Get(id); }
            catch (CorruptFileException e)
            {
                damaged++;
                Assert.Contains(".evp", e.Message);
            }
        }
        Assert.Equal(1, damaged);
        Assert.Contains(EmbeddedVectorStore.Verify(dir.Path), problem => problem.Contains(".evp") && problem.Contains("checksum"));
    }

    [Fact]
    public void A_store_without_full_vectors_returns_the_coded_approximation_once_sealed()
    {
        using var dir = new TempStoreDirectory();
        using var store = EmbeddedVectorStore.Create(dir.Path, Options() with { StoreVectors = false });
        RealRows.Add(store, 0, 1500, Payload);
        store.Flush();
        var original = RealRows.Row(42).ToArray();
        var entry = store.Get(42)!;
        Assert.Equal(Payload(42), entry.PayloadText);
        double error = 0, norm = 0;
        for (int i = 0; i < original.Length; i++)
        {
            error += (entry.Vector[i] - original[i]) * (double)(entry.Vector[i] - original[i]);
            norm += original[i] * (double)original[i];
        }
        Assert.InRange(error / norm, 1e-6, 0.2); // PQ with m 48 keeps most of the vector, and it is not the exact row
    }
}
