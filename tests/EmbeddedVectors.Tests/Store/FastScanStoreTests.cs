using EmbeddedVectors.Indexes;
using EmbeddedVectors.Search;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Tests.Store;

/// <summary>Stores whose segments hold 4-bit fast-scan codes behave like the in-memory fast-scan index and survive reopening and compaction.</summary>
public sealed class FastScanStoreTests
{
    private static readonly KMeansOptions QuickKMeans = new() { Iterations = 8 };

    [Fact]
    public void A_fast_scan_store_matches_the_in_memory_index_and_reopens_identically()
    {
        var data = RealData.Instance;
        using var dir = new TempStoreDirectory();
        var options = new EmbeddedVectorStoreOptions
        {
            Dimension = data.Dimension, NList = 128, M = 96, Codes = VectorCodes.Pq4FastScan,
            SealThreshold = 25_000, KMeans = QuickKMeans,
        };
        var search = new StoreSearchOptions { NProbe = 16, Rerank = 100 };
        long[] before;
        using (var store = EmbeddedVectorStore.Create(dir.Path, options))
        {
            store.Train(data.Base.AsSpan(0, 20_000 * data.Dimension));
            store.AddRange(Enumerable.Range(0, data.Count).Select(i => (long)i).ToArray(), data.Base);
            store.Commit();
            Assert.Equal("pq4fs", store.GetInfo().Codes);
            before = store.SearchBatch(data.Queries, 10, search).Ids;

            var memory = new IvfPqIndex(data.Dimension, Metric.L2, new IvfPqOptions { Codes = VectorCodes.Pq4FastScan, NList = 128, M = 96, KMeans = QuickKMeans });
            memory.Train(data.Base.AsSpan(0, 20_000 * data.Dimension));
            memory.Add(data.Base);
            double inMemory = data.RecallAt(memory, 10, new SearchParameters { NProbe = 16, Rerank = 100 });
            Assert.Equal(inMemory, data.RecallOf(before, 10), 3);
            Assert.True(inMemory > 0.9, $"recall@10 {inMemory}");
        }
        using (var reopened = EmbeddedVectorStore.Open(dir.Path))
        {
            Assert.True(reopened.GetInfo().Segments >= 2);
            Assert.Equal(before, reopened.SearchBatch(data.Queries, 10, search).Ids);
            for (int id = 0; id < data.Count; id += 4) reopened.Delete(id);
            reopened.Compact();
            var after = reopened.SearchBatch(data.Queries, 10, search).Ids;
            Assert.All(after, id => Assert.True(id < 0 || id % 4 != 0));
            Assert.Equal(1, reopened.GetInfo().Segments);
        }
        Assert.Empty(EmbeddedVectorStore.Verify(dir.Path));
    }

    [Fact]
    public void Fast_scan_needs_an_even_m()
    {
        using var dir = new TempStoreDirectory();
        Assert.Throws<ArgumentException>(() => EmbeddedVectorStore.Create(dir.Path, new EmbeddedVectorStoreOptions { Dimension = 12, M = 3, Codes = VectorCodes.Pq4FastScan }));
        using var store = EmbeddedVectorStore.Create(dir.Path, new EmbeddedVectorStoreOptions { Dimension = 12, NList = 4, Codes = VectorCodes.Pq4FastScan });
        Assert.Equal(2, store.GetInfo().M); // 12 / 4 = 3 is odd: the default steps down to an even divisor
    }
}
