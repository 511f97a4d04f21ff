using System.Collections.Concurrent;
using EmbeddedVectors.Training;
using EmbeddedVectors.Search;

namespace EmbeddedVectors.Tests.Store;

/// <summary>
/// Searches run on a published snapshot without a lock: user code called from a search may read the store, and
/// every search sees one state while a writer adds, deletes, seals and compacts.
/// </summary>
public sealed class SnapshotTests
{
    private static EmbeddedVectorStoreOptions Options(int trainingThreshold) => new()
    {
        Dimension = RealData.Instance.Dimension,
        NList = 32,
        M = 48,
        TrainingThreshold = trainingThreshold,
        SealThreshold = 1500,
        KMeans = new KMeansOptions { Iterations = 6 },
    };

    private static ReadOnlySpan<float> Row(int row) => RealRows.Row(row);

    private static void AddRows(EmbeddedVectorStore store, int from, int count) => RealRows.Add(store, from, count, row => $"{{\"row\": {row}}}");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_filter_may_call_Contains_and_Get_on_the_store_it_filters(bool trained)
    {
        using var dir = new TempStoreDirectory();
        using var store = EmbeddedVectorStore.Create(dir.Path, Options(trainingThreshold: 2000));
        AddRows(store, 0, trained ? 4000 : 1000);
        Assert.Equal(trained, store.IsTrained);
        for (int id = 0; id < 1000; id += 3) store.Delete(id);
        if (trained) store.Flush(); // deletions in a sealed segment as well as the buffer
        AddRows(store, 4000, 500);

        int calls = 0;
        var options = new StoreSearchOptions
        {
            NProbe = 32,
            Rerank = trained ? 100 : 0,
            // Reads the payload of every candidate: only even rows pass.
            Filter = id =>
            {
                Interlocked.Increment(ref calls);
                Assert.True(store.Contains(id));
                var entry = store.Get(id);
                Assert.NotNull(entry);
                return entry.PayloadText == $"{{\"row\": {id}}}" && id % 2 == 0;
            },
        };
        var hits = store.Search(Row(10), 10, options);
        Assert.True(calls > 0);
        Assert.Equal(10, hits.Count);
        Assert.All(hits, hit => Assert.True(hit.Id % 2 == 0 && hit.Id % 3 != 0 || hit.Id >= 1000));
        Assert.Equal(10, hits[0].Id);
        Assert.Equal($"{{\"row\": {hits[1].Id}}}", hits[1].PayloadText);
    }

    [Fact]
    public void Every_search_sees_one_state_while_a_writer_upserts_deletes_seals_and_compacts()
    {
        using var dir = new TempStoreDirectory();
        using var store = EmbeddedVectorStore.Create(dir.Path, Options(trainingThreshold: 1000));
        const int ids = 3000;
        AddRows(store, 0, ids);
        var violations = new ConcurrentQueue<string>();
        int searches = 0;
        using var stop = new CancellationTokenSource();

        // The writer keeps every id live at all times except between a delete and its re-add; it upserts by
        // re-adding the same row under the same id, so at most one version of each id may ever be seen.
        var writer = Task.Run(() =>
        {
            var random = new Random(7);
            for (int round = 0; round < 60; round++)
            {
                int from = random.Next(ids - 200);
                AddRows(store, from, 200);
                long victim = random.Next(ids);
                store.Delete(victim);
                AddRows(store, (int)victim, 1);
                if (round % 15 == 7) store.Compact();
                else if (round % 5 == 0) store.Flush();
            }
            stop.Cancel();
        });
        var readers = Enumerable.Range(0, 3).Select(r => Task.Run(() =>
        {
            var random = new Random(r);
            while (!stop.IsCancellationRequested)
            {
                int row = random.Next(ids);
                var hits = store.Search(Row(row), 20, new StoreSearchOptions { NProbe = 32, Rerank = 60 });
                Interlocked.Increment(ref searches);
                if (hits.Select(h => h.Id).Distinct().Count() != hits.Count) violations.Enqueue($"an id twice in {string.Join(",", hits.Select(h => h.Id))}");
                if (hits.Count < 19) violations.Enqueue($"only {hits.Count} hits of 20 among {ids} entries");
                for (int i = 1; i < hits.Count; i++)
                    if (hits[i].Distance < hits[i - 1].Distance) violations.Enqueue("distances out of order");
            }
        })).ToArray();
        writer.Wait(TimeSpan.FromMinutes(3));
        Task.WaitAll(readers, TimeSpan.FromMinutes(1));
        Assert.True(writer.IsCompletedSuccessfully, writer.Exception?.ToString());
        Assert.Empty(violations);
        Assert.True(searches > 0);
        Assert.Equal(ids, store.Count);
        Assert.Equal(1, store.GetInfo().Segments > 0 ? 1 : 0);
    }

    [Fact]
    public void A_search_holding_a_snapshot_keeps_compacted_segments_readable()
    {
        using var dir = new TempStoreDirectory();
        using var store = EmbeddedVectorStore.Create(dir.Path, Options(trainingThreshold: 1000));
        AddRows(store, 0, 3000);
        store.Flush();
        for (int id = 0; id < 3000; id += 2) store.Delete(id);
        int compactions = 0;
        var options = new StoreSearchOptions
        {
            NProbe = 32,
            Rerank = 50,
            // The first candidate compacts the store from inside the search (on another thread, as the writer would):
            // the segments this search is scanning must stay mapped until it ends.
            Filter = id =>
            {
                if (Interlocked.Exchange(ref compactions, 1) == 0) Task.Run(store.Compact).Wait();
                return true;
            },
        };
        var hits = store.Search(Row(11), 10, options);
        Assert.Equal(1, compactions);
        Assert.Equal(11, hits[0].Id);
        Assert.All(hits, hit => Assert.Equal(1, hit.Id % 2));
        Assert.Equal($"{{\"row\": {hits[0].Id}}}", hits[0].PayloadText);
        Assert.Equal(1, store.GetInfo().Segments);
        Assert.Equal(1500, store.Count);
        Assert.Equal(11, store.Search(Row(11), 1, new StoreSearchOptions { NProbe = 32 })[0].Id);
    }

    [Fact]
    public void Cell_tables_built_lazily_by_many_threads_at_once_equal_those_built_one_query_at_a_time()
    {
        using var dir = new TempStoreDirectory();
        using (var store = EmbeddedVectorStore.Create(dir.Path, Options(trainingThreshold: 1000)))
            AddRows(store, 0, 3000);
        var data = RealData.Instance;
        int n = 200;
        var queries = data.Queries.AsSpan(0, n * data.Dimension).ToArray();
        var options = new StoreSearchOptions { NProbe = 32 };
        BatchSearchResult concurrent;
        using (var first = EmbeddedVectorStore.Open(dir.Path, new EmbeddedVectorStoreOptions { ReadOnly = true }))
            concurrent = first.SearchBatch(queries, 10, options, threads: 8);
        using var second = EmbeddedVectorStore.Open(dir.Path, new EmbeddedVectorStoreOptions { ReadOnly = true });
        for (int q = 0; q < n; q++)
        {
            var hits = second.Search(queries.AsSpan(q * data.Dimension, data.Dimension), 10, options);
            Assert.Equal(concurrent.Ids.AsSpan(q * 10, hits.Count).ToArray(), hits.Select(h => h.Id).ToArray());
            Assert.Equal(concurrent.Distances.AsSpan(q * 10, hits.Count).ToArray(), hits.Select(h => h.Distance).ToArray());
        }
    }
}
