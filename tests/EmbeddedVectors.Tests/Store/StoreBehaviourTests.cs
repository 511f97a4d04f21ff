using System.Text;
using EmbeddedVectors.Indexes;
using EmbeddedVectors.Search;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Tests.Store;

/// <summary>The store's behaviour, run on each payload log (<see cref="FasterLogStoreBehaviourTests"/>, <see cref="InMemoryLogStoreBehaviourTests"/>).</summary>
public abstract class StoreBehaviourTests(LogKind log) : StoreLogTests(log)
{
    private static readonly KMeansOptions QuickKMeans = new() { Iterations = 8 };

    protected static EmbeddedVectorStoreOptions Options(int sealThreshold = 3000, Metric metric = Metric.L2) => new()
    {
        Dimension = RealData.Instance.Dimension,
        Metric = metric,
        NList = 64,
        M = 48,
        TrainingThreshold = 4000,
        SealThreshold = sealThreshold,
        KMeans = QuickKMeans,
    };

    protected static void AddRows(EmbeddedVectorStore store, int from, int count, string tag = "v1")
    {
        var data = RealData.Instance;
        var ids = new long[count];
        var payloads = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            ids[i] = from + i;
            payloads[i] = Encoding.UTF8.GetBytes($"{tag}:{from + i}");
        }
        store.AddRange(ids, data.Base.AsSpan(from * data.Dimension, count * data.Dimension), payloads);
    }

    protected static ReadOnlySpan<float> Row(int row) => RealData.Instance.Base.AsSpan(row * RealData.Instance.Dimension, RealData.Instance.Dimension);

    [Fact]
    public void An_untrained_store_searches_exactly_then_trains_itself_at_the_threshold()
    {
        using var dir = new TempStoreDirectory();
        using var store = Create(dir.Path, Options());
        AddRows(store, 0, 1000);
        Assert.False(store.IsTrained);
        var hits = store.Search(Row(500), 3);
        Assert.Equal(500, hits[0].Id);
        Assert.Equal(0f, hits[0].Distance);
        AddRows(store, 1000, 3000);
        Assert.True(store.IsTrained);
        Assert.Equal(4000, store.Count);
        Assert.Equal(500, store.Search(Row(500), 3, new StoreSearchOptions { NProbe = 8, Rerank = 20 })[0].Id);
    }

    [Fact]
    public void An_untrained_store_reopens_with_its_entries()
    {
        using var dir = new TempStoreDirectory();
        using (var store = Create(dir.Path, Options()))
        {
            AddRows(store, 0, 300);
            store.Commit();
        }
        using var reopened = Open(dir.Path);
        Assert.False(reopened.IsTrained);
        Assert.Equal(300, reopened.Count);
        Assert.Equal("v1:42", reopened.Get(42)!.PayloadText);
    }

    [Fact]
    public void Upsert_replaces_and_delete_hides_at_once_and_durably()
    {
        using var dir = new TempStoreDirectory();
        using (var store = Create(dir.Path, Options()))
        {
            AddRows(store, 0, 5000); // trained, one sealed segment plus a buffer
            AddRows(store, 10, 5, tag: "v2"); // replace ids 10..14, one of which is sealed
            Assert.Equal(5000, store.Count);
            Assert.Equal("v2:12", store.Get(12)!.PayloadText);
            Assert.True(store.Delete(100));
            Assert.True(store.Delete(4500));
            Assert.False(store.Delete(100));
            Assert.False(store.Delete(123_456));
            Assert.Null(store.Get(100));
            Assert.Equal(4998, store.Count);
            foreach (var hit in store.Search(Row(100), 10, new StoreSearchOptions { NProbe = 64 })) Assert.NotEqual(100, hit.Id);
            store.Commit();
        }
        using (var store = Open(dir.Path))
        {
            Assert.Equal(4998, store.Count);
            Assert.Null(store.Get(100));
            Assert.Null(store.Get(4500));
            Assert.Equal("v2:12", store.Get(12)!.PayloadText);
            var hits = store.Search(Row(12), 10, new StoreSearchOptions { NProbe = 64, Rerank = 50 });
            Assert.Equal(12, hits[0].Id);
            Assert.Single(hits, h => h.Id == 12);
        }
    }

    [Fact]
    public void Compaction_drops_dead_entries_and_keeps_live_ones()
    {
        using var dir = new TempStoreDirectory();
        using var store = Create(dir.Path, Options(sealThreshold: 1500));
        AddRows(store, 0, 8000);
        for (int id = 0; id < 8000; id += 3) store.Delete(id);
        AddRows(store, 1, 100, tag: "v2");
        store.Commit();
        long before = store.GetInfo().BytesOnDisk;
        var expectedCount = store.Count;
        var queryHits = store.Search(Row(7001), 10, new StoreSearchOptions { NProbe = 16, Rerank = 100 }).Select(h => h.Id).ToArray();
        store.Compact();
        var info = store.GetInfo();
        Assert.Equal(1, info.Segments);
        Assert.Equal(0, info.DeletedEntries);
        Assert.Equal(expectedCount, store.Count);
        Assert.True(info.BytesOnDisk < before, $"{info.BytesOnDisk} >= {before}");
        Assert.Equal(queryHits, store.Search(Row(7001), 10, new StoreSearchOptions { NProbe = 16, Rerank = 100 }).Select(h => h.Id).ToArray());
        Assert.Null(store.Get(3000));
        Assert.Equal("v2:4", store.Get(4)!.PayloadText);
        Assert.Equal("v1:7001", store.Get(7001)!.PayloadText);
        store.Dispose();
        using var reopened = Open(dir.Path);
        Assert.Equal(expectedCount, reopened.Count);
        Assert.Equal("v1:7999", reopened.Get(7999)!.PayloadText);
        Assert.Empty(Verify(dir.Path));
    }

    [Fact]
    public void Searches_during_compaction_see_a_consistent_store()
    {
        using var dir = new TempStoreDirectory();
        using var store = Create(dir.Path, Options(sealThreshold: 1000));
        AddRows(store, 0, 6000);
        for (int id = 0; id < 6000; id += 2) store.Delete(id);
        store.Commit();
        var expected = store.Search(Row(4001), 10, new StoreSearchOptions { NProbe = 64, Rerank = 200 }).Select(h => h.Id).ToArray();
        using var stop = new CancellationTokenSource();
        int searches = 0;
        var searchers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var ids = store.Search(Row(4001), 10, new StoreSearchOptions { NProbe = 64, Rerank = 200 }).Select(h => h.Id).ToArray();
                Assert.Equal(expected, ids);
                Interlocked.Increment(ref searches);
            }
        })).ToArray();
        // Let both searchers get going first: on the in-memory log compaction can finish before a task starts.
        SpinWait.SpinUntil(() => Volatile.Read(ref searches) >= 2 || searchers.Any(t => t.IsCompleted), TimeSpan.FromSeconds(30));
        store.Compact();
        stop.Cancel();
        Task.WaitAll(searchers);
        Assert.True(searches > 0);
    }

    [Fact]
    public void Store_recall_matches_the_in_memory_index_with_the_same_training()
    {
        var data = RealData.Instance;
        using var dir = new TempStoreDirectory();
        var options = Options(sealThreshold: 20_000) with { NList = 128, TrainingThreshold = 20_000 };
        using var store = Create(dir.Path, options);
        store.Train(data.Base.AsSpan(0, 20_000 * data.Dimension));
        var ids = Enumerable.Range(0, data.Count).Select(i => (long)i).ToArray();
        store.AddRange(ids, data.Base);
        store.Commit();

        var memory = new IvfPqIndex(data.Dimension, Metric.L2, new IvfPqOptions { NList = 128, M = 48, KMeans = QuickKMeans });
        memory.Train(data.Base.AsSpan(0, 20_000 * data.Dimension));
        memory.Add(data.Base);

        foreach (var (nprobe, rerank) in new[] { (8, 0), (16, 100) })
        {
            double stored = data.RecallOf(store.SearchBatch(data.Queries, 10, new StoreSearchOptions { NProbe = nprobe, Rerank = rerank }).Ids, 10);
            double inMemory = data.RecallAt(memory, 10, new SearchParameters { NProbe = nprobe, Rerank = rerank });
            // Same seed, same data, same training: the same quantizer, so the same answers.
            Assert.Equal(inMemory, stored, 3);
        }
        // Two sealed segments plus the write buffer answered as one index would.
        var info = store.GetInfo();
        Assert.True(info.Segments >= 2 && info.BufferedEntries > 0, $"{info.Segments} segments, {info.BufferedEntries} buffered");
    }

    [Fact]
    public void Appends_after_a_build_are_found_at_the_same_recall()
    {
        var data = RealData.Instance;
        using var dir = new TempStoreDirectory();
        using var store = Create(dir.Path, Options(sealThreshold: 50_000) with { NList = 128 });
        store.Train(data.Base.AsSpan(0, 20_000 * data.Dimension));
        var ids = Enumerable.Range(0, 40_000).Select(i => (long)i).ToArray();
        store.AddRange(ids, data.Base.AsSpan(0, 40_000 * data.Dimension));
        store.Flush();
        var rest = Enumerable.Range(40_000, data.Count - 40_000).Select(i => (long)i).ToArray();
        store.AddRange(rest, data.Base.AsSpan(40_000 * data.Dimension));
        var info = store.GetInfo();
        Assert.Equal(1, info.Segments);
        Assert.Equal(data.Count - 40_000, info.BufferedEntries);
        double recall = data.RecallOf(store.SearchBatch(data.Queries, 10, new StoreSearchOptions { NProbe = 16, Rerank = 100 }).Ids, 10);
        Assert.True(recall > 0.93, $"recall@10 {recall}");
    }
}

/// <summary><see cref="StoreBehaviourTests"/> on the FASTER log.</summary>
public sealed class FasterLogStoreBehaviourTests() : StoreBehaviourTests(LogKind.Faster);

/// <summary><see cref="StoreBehaviourTests"/> on an in-memory log, plus what only it can do in-process: crash.</summary>
public sealed class InMemoryLogStoreBehaviourTests() : StoreBehaviourTests(LogKind.InMemory)
{
    [Fact]
    public void After_a_crash_the_store_reopens_with_what_was_committed_and_nothing_after()
    {
        using var dir = new TempStoreDirectory();
        var store = Create(dir.Path, Options());
        AddRows(store, 0, 5000); // trained, one sealed segment plus a buffer
        Assert.True(store.Delete(7));
        store.Commit();
        AddRows(store, 5000, 200);
        AddRows(store, 10, 5, tag: "v2");
        Assert.True(store.Delete(4500));
        Assert.Equal(5198, store.Count);

        Memory.SimulateCrash();
        // The store's writer is dead: disposing it fails at its first log call (sealing commits first), before
        // anything is written to disk, and still releases its files.
        Assert.Throws<InvalidOperationException>(store.Dispose);

        using var reopened = Open(dir.Path);
        Assert.Equal(4999, reopened.Count);
        Assert.Null(reopened.Get(7));
        Assert.Null(reopened.Get(5100));
        Assert.Equal("v1:12", reopened.Get(12)!.PayloadText);
        Assert.Equal("v1:4500", reopened.Get(4500)!.PayloadText);
        Assert.Equal(4500, reopened.Search(Row(4500), 3, new StoreSearchOptions { NProbe = 64, Rerank = 50 })[0].Id);
    }
}
