using EmbeddedVectors.Tests.Cli;
using EmbeddedVectors.Tests.Store;

namespace EmbeddedVectors.Tests.Trust;

/// <summary>
/// A store on a really full disk (a small tmpfs): every write path fails with <see cref="StoreFullException"/>,
/// nothing committed is lost, and after space is freed the same instance goes on adding, sealing and compacting.
/// </summary>
[Collection("Console")]
public sealed class DiskFullTests
{
    private const int Dimension = 32;
    private const int Batch = 500;

    private static EmbeddedVectorStoreOptions Options => new()
    {
        Dimension = Dimension,
        NList = 16,
        M = 4,
        SealThreshold = 1_000_000, // seals only when asked
        MergeFactor = 0,
        Rows = RowEncoding.Float32,
    };

    [SkippableFact]
    public void Commits_on_a_full_disk_fail_clearly_and_writes_go_on_after_space_is_freed()
    {
        using var disk = SmallDisk.Mount(64);
        string path = Path.Combine(disk.Path, "store");
        long committed = 0;
        using (var store = EmbeddedVectorStore.Create(path, Options))
        {
            AddBatch(store, committed);
            store.Commit();
            committed += Batch;
            disk.Fill(leaveBytes: 3 << 20);
            var full = Assert.Throws<StoreFullException>(() =>
            {
                for (int round = 0; round < 1000; round++)
                {
                    AddBatch(store, committed);
                    store.Commit();
                    committed += Batch;
                }
            });
            Assert.Contains("is full", full.Message);
            Assert.Contains("committed entry is safe", full.Message);
            Assert.Equal(committed, store.Count); // the failed batch was dropped, the committed ones stayed
            CheckEntries(store, committed);

            disk.FreeSpace();
            AddBatch(store, committed);
            store.Commit();
            committed += Batch;
            store.Flush();
            store.Delete(0);
            store.Compact();
            Assert.Equal(committed - 1, store.Count);
        }
        using var reopened = EmbeddedVectorStore.Open(path);
        Assert.Null(reopened.Get(0));
        CheckEntries(reopened, committed, from: 1);
    }

    [SkippableFact]
    public void A_seal_and_a_compaction_that_fill_the_disk_fail_clearly_and_succeed_after_space_is_freed()
    {
        using var disk = SmallDisk.Mount(64);
        string path = Path.Combine(disk.Path, "store");
        long committed = 0;
        bool fillDuringCompaction = false;
        var options = Options with { CompactionHook = () => { if (fillDuringCompaction) disk.Fill(leaveBytes: 64 << 10); } };
        using (var store = EmbeddedVectorStore.Create(path, options))
        {
            for (int i = 0; i < 8; i++, committed += Batch) AddBatch(store, committed);
            store.Commit();
            disk.Fill(leaveBytes: 64 << 10);
            var seal = Assert.Throws<StoreFullException>(store.Flush);
            Assert.Contains("seal", seal.Message);
            CheckEntries(store, committed);
            disk.FreeSpace();
            store.Flush();

            for (int i = 0; i < 4; i++, committed += Batch) AddBatch(store, committed);
            store.Commit();
            store.Flush();
            fillDuringCompaction = true;
            var compaction = Assert.Throws<StoreFullException>(store.Compact);
            Assert.Contains("compaction", compaction.Message);
            CheckEntries(store, committed);
            fillDuringCompaction = false;
            disk.FreeSpace();
            store.Compact();
            Assert.Equal(1, store.GetInfo().Segments);
        }
        using var reopened = EmbeddedVectorStore.Open(path);
        CheckEntries(reopened, committed);
    }

    [SkippableFact]
    public void Ev_add_on_a_full_disk_prints_one_line_and_exits_non_zero()
    {
        using var disk = SmallDisk.Mount(16);
        using var files = new TempStoreDirectory();
        Directory.CreateDirectory(files.Path);
        string vectors = Path.Combine(files.Path, "v.fvecs");
        const int rows = 60_000;
        using (var writer = new BinaryWriter(File.Create(vectors)))
        {
            var row = new float[Dimension];
            for (int i = 0; i < rows; i++)
            {
                Vector(i, row);
                writer.Write(Dimension);
                foreach (float value in row) writer.Write(value);
            }
        }
        string store = Path.Combine(disk.Path, "store");
        var created = Ev.Run("create", store, "--dim", $"{Dimension}", "--nlist", "16", "--seal-threshold", "1000000");
        Assert.True(created.ExitCode == 0, created.ToString());
        disk.Fill(leaveBytes: 4 << 20);
        var added = Ev.Run("add", store, "--vectors", vectors, "--commit-every", "2000");
        Ev.AssertFails(added, "is full", "committed entry is safe");
        disk.FreeSpace();
        long committed = added.Out.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("committed ", StringComparison.Ordinal))
            .Select(l => long.Parse(l["committed ".Length..], System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();
        using var reopened = EmbeddedVectorStore.Open(store);
        Assert.True(reopened.Count >= committed, $"{reopened.Count} entries after reopen, {committed} were committed");
    }

    private static void AddBatch(EmbeddedVectorStore store, long start)
    {
        var ids = new long[Batch];
        var vectors = new float[Batch * Dimension];
        var payloads = new byte[Batch][];
        for (int i = 0; i < Batch; i++)
        {
            ids[i] = start + i;
            Vector(ids[i], vectors.AsSpan(i * Dimension, Dimension));
            payloads[i] = Payload(ids[i]);
        }
        store.AddRange(ids, vectors, payloads);
    }

    private static void CheckEntries(EmbeddedVectorStore store, long committed, long from = 0)
    {
        var expected = new float[Dimension];
        for (long id = from; id < committed; id++)
        {
            var entry = store.Get(id);
            Assert.True(entry != null, $"committed id {id} of {committed} is missing");
            Vector(id, expected);
            Assert.Equal(expected, entry!.Vector);
            Assert.Equal(Payload(id), entry.Payload);
        }
    }

    private static void Vector(long id, Span<float> vector)
    {
        var random = new Random((int)id);
        for (int j = 0; j < vector.Length; j++) vector[j] = random.NextSingle();
    }

    private static byte[] Payload(long id) => System.Text.Encoding.UTF8.GetBytes($"entry {id} " + new string('x', 900));
}
