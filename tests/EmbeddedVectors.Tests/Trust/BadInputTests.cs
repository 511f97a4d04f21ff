using System.Diagnostics;
using EmbeddedVectors.Tests.Store;

namespace EmbeddedVectors.Tests.Trust;

/// <summary>Inputs at and past the edges: each works or fails with a clear exception, and nothing stored is harmed.</summary>
public sealed class BadInputTests
{
    private static EmbeddedVectorStoreOptions Options(int dimension, Metric metric = Metric.L2) => new()
    {
        Dimension = dimension, Metric = metric, NList = 4, M = dimension % 4 == 0 ? 4 : 1, TrainingThreshold = 256, MergeFactor = 0,
    };

    [Fact]
    public void A_payload_past_the_record_limit_names_the_limit_and_adds_nothing_of_its_batch()
    {
        using var dir = new TempStoreDirectory();
        using (var store = EmbeddedVectorStore.Create(dir.Path, Options(4)))
        {
            store.Add(1, [1, 2, 3, 4], "kept");
            var e = Assert.Throws<ArgumentException>(() =>
                store.AddRange([2, 3], new float[8], [[1], new byte[4 << 20]]));
            Assert.Contains("4194292 bytes", e.Message); // LogRecordFormat.MaxRecordBytes
            Assert.Equal(1, store.Count);
            Assert.False(store.Contains(2));
            store.Add(4, [1, 1, 1, 1], ReadOnlySpan<byte>.Empty); // an empty payload works
            Assert.Empty(store.Get(4)!.Payload);
            store.Commit();
        }
        using var reopened = EmbeddedVectorStore.Open(dir.Path);
        Assert.Equal(2, reopened.Count);
        Assert.False(reopened.Contains(2));
        Assert.Empty(reopened.Get(4)!.Payload);
    }

    [Fact]
    public void Extreme_ids_and_duplicate_ids_in_one_batch_work_and_the_last_duplicate_wins()
    {
        using var dir = new TempStoreDirectory();
        using (var store = EmbeddedVectorStore.Create(dir.Path, Options(4)))
        {
            store.AddRange([long.MinValue, long.MaxValue, 7, 7], [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
                [[1], [2], [3], [4]]);
            Assert.Equal(3, store.Count);
            Assert.Equal([4], store.Get(7)!.Payload);
            store.Commit();
        }
        using var reopened = EmbeddedVectorStore.Open(dir.Path);
        Assert.Equal([1], reopened.Get(long.MinValue)!.Payload);
        Assert.Equal([2], reopened.Get(long.MaxValue)!.Payload);
        Assert.Equal([0f, 0, 0, 1], reopened.Get(7)!.Vector);
        Assert.Equal(3, reopened.Count);
    }

    [Fact]
    public void The_zero_vector_under_cosine_is_refused_naming_its_row()
    {
        using var dir = new TempStoreDirectory();
        using var store = EmbeddedVectorStore.Create(dir.Path, Options(4, Metric.Cosine));
        var e = Assert.Throws<ArgumentException>(() => store.AddRange([1, 2], [1, 0, 0, 0, 0, 0, 0, 0]));
        Assert.Contains("Row 1", e.Message);
        Assert.Equal(0, store.Count);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4096)]
    public void Dimension_1_and_4096_work_and_k_past_the_count_returns_every_live_entry(int dimension)
    {
        using var dir = new TempStoreDirectory();
        using var store = EmbeddedVectorStore.Create(dir.Path, Options(dimension));
        const int n = 300; // past the training threshold
        var vectors = new float[n * dimension];
        var random = new Random(dimension);
        for (int i = 0; i < vectors.Length; i++) vectors[i] = random.NextSingle();
        store.AddRange(Enumerable.Range(0, n).Select(i => (long)i).ToArray(), vectors);
        store.Delete(5);
        store.Flush();
        Assert.True(store.IsTrained);
        var hits = store.Search(vectors.AsSpan(0, dimension), 1000, new StoreSearchOptions { NProbe = 4 });
        Assert.Equal(n - 1, hits.Count);
        Assert.Equal(n - 1, hits.Select(h => h.Id).Distinct().Count());
    }

    [Fact]
    public void Dispose_while_searches_run_ends_them_cleanly_or_with_ObjectDisposedException()
    {
        using var dir = new TempStoreDirectory();
        var store = EmbeddedVectorStore.Create(dir.Path, Options(8));
        var vectors = new float[2000 * 8];
        var random = new Random(3);
        for (int i = 0; i < vectors.Length; i++) vectors[i] = random.NextSingle();
        store.AddRange(Enumerable.Range(0, 2000).Select(i => (long)i).ToArray(), vectors);
        using var go = new Barrier(4);
        var searchers = Enumerable.Range(0, 3).Select(t => Task.Run(() =>
        {
            go.SignalAndWait();
            for (int i = 0; ; i++)
            {
                try
                {
                    store.Search(vectors.AsSpan(i % 2000 * 8, 8), 10);
                    _ = store.Get(i % 2000);
                }
                catch (ObjectDisposedException) { return; }
            }
        })).ToArray();
        go.SignalAndWait();
        Thread.Sleep(50);
        store.Dispose();
        Assert.True(Task.WaitAll(searchers, TimeSpan.FromSeconds(20)));
    }

    [SkippableFact]
    public void A_store_on_a_read_only_disk_opens_read_only_and_a_writable_open_says_why_not()
    {
        using var disk = SmallDisk.Mount(16);
        string path = Path.Combine(disk.Path, "store");
        using (var store = EmbeddedVectorStore.Create(path, Options(4)))
        {
            store.Add(1, [1, 2, 3, 4], "one");
        }
        disk.RemountReadOnly();
        var e = Assert.Throws<EmbeddedVectorsException>(() => EmbeddedVectorStore.Open(path));
        Assert.Contains("ReadOnly = true", e.Message);
        Assert.DoesNotContain("another process", e.Message);
        using var reader = EmbeddedVectorStore.Open(path, new EmbeddedVectorStoreOptions { ReadOnly = true });
        Assert.Equal("one"u8.ToArray(), reader.Get(1)!.Payload);
    }

    [Fact]
    public void A_second_writer_process_is_refused_with_a_clear_error()
    {
        using var dir = new TempStoreDirectory();
        using var child = CrashChildProcess.Start(dir.Path, 0);
        try
        {
            Assert.StartsWith("committed", child.StandardOutput.ReadLine());
            var e = Assert.Throws<EmbeddedVectorsException>(() => EmbeddedVectorStore.Open(dir.Path));
            Assert.Contains("open for writing by another process", e.Message);
            using var reader = EmbeddedVectorStore.Open(dir.Path, new EmbeddedVectorStoreOptions { ReadOnly = true });
            Assert.True(reader.Count > 0);
        }
        finally
        {
            child.Kill();
            child.WaitForExit();
        }
    }
}
