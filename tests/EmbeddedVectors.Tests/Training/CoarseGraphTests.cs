using EmbeddedVectors.Indexes;
using EmbeddedVectors.Search;
using EmbeddedVectors.Storage;
using EmbeddedVectors.Tests.Store;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Tests.Training;

public sealed class CoarseGraphTests
{
    private const int Cells = 3000;

    /// <summary>
    /// 3,000 public-set rows as centroids; for inner product each scaled by a seeded factor in [0.5, 1.5], so the
    /// inner-product ranking differs from the L2 one.
    /// </summary>
    private static CoarseQuantizer Centroids(Metric metric)
    {
        var data = RealData.Instance;
        var centroids = data.Base.AsSpan(0, Cells * data.Dimension).ToArray();
        if (metric == Metric.InnerProduct)
        {
            var random = new Random(7);
            for (int c = 0; c < Cells; c++)
            {
                float factor = 0.5f + (float)random.NextDouble();
                foreach (ref float v in centroids.AsSpan(c * data.Dimension, data.Dimension)) v *= factor;
            }
        }
        return CoarseQuantizer.FromCentroids(centroids, Cells, data.Dimension, metric);
    }

    [Theory]
    [InlineData(Metric.L2)]
    [InlineData(Metric.InnerProduct)]
    public void Graph_probe_returns_the_flat_probes_cells_with_the_flat_probes_distances(Metric metric)
    {
        var data = RealData.Instance;
        var quantizer = Centroids(metric);
        quantizer.BuildGraph();
        foreach (int nprobe in new[] { 16, 32, 64 })
        {
            long overlap = 0, sameDistance = 0, computations = 0;
            var flatLists = new long[nprobe];
            var flatDistances = new float[nprobe];
            var graphLists = new long[nprobe];
            var graphDistances = new float[nprobe];
            for (int q = 0; q < RealData.QueryCount; q++)
            {
                Assert.Equal(nprobe, quantizer.ProbeFlat(data.Query(q), flatLists, flatDistances));
                Assert.Equal(nprobe, quantizer.ProbeGraph(data.Query(q), graphLists, graphDistances, out int c));
                computations += c;
                for (int i = 0; i < nprobe; i++)
                {
                    int at = Array.IndexOf(flatLists, graphLists[i]);
                    if (at < 0) continue;
                    overlap++;
                    if (flatDistances[at] == graphDistances[i]) sameDistance++;
                }
                for (int i = 1; i < nprobe; i++) Assert.True(graphDistances[i - 1] <= graphDistances[i]);
            }
            double share = overlap / (double)(RealData.QueryCount * nprobe);
            Assert.True(share >= 0.99, $"{metric} nprobe {nprobe}: overlap {share:F4}");
            Assert.Equal(overlap, sameDistance);
            Assert.True(computations < (long)RealData.QueryCount * Cells, $"{computations / RealData.QueryCount} distances a query");
        }
    }

    [Fact]
    public void Graph_assignment_agrees_with_the_flat_one_for_nearly_every_vector()
    {
        var data = RealData.Instance;
        var flat = Centroids(Metric.L2);
        var graph = Centroids(Metric.L2);
        graph.BuildGraph();
        int n = 2000;
        var vectors = data.Base.AsSpan(10_000 * data.Dimension, n * data.Dimension);
        var expected = new int[n];
        var actual = new int[n];
        flat.Assign(vectors, n, expected);
        graph.Assign(vectors, n, actual);
        int same = 0;
        for (int i = 0; i < n; i++) if (expected[i] == actual[i]) same++;
        Assert.True(same >= 0.97 * n, $"{same} of {n}");
    }

    [Fact]
    public void Hierarchical_kmeans_comes_within_a_few_percent_of_flat_kmeans()
    {
        var data = RealData.Instance;
        int n = 20_000, k = 400;
        var points = data.Base.AsSpan(0, n * data.Dimension);
        var options = new KMeansOptions { Iterations = 10, MaxPointsPerCentroid = 64 };
        var flat = KMeans.Train(points, n, data.Dimension, k, options);
        var hierarchical = KMeans.Train(points, n, data.Dimension, k, options with { HierarchicalMinK = 64 });
        double flatError = Objective(points, data.Dimension, flat), hierarchicalError = Objective(points, data.Dimension, hierarchical);
        Assert.True(hierarchicalError < flatError * 1.04, $"hierarchical {hierarchicalError:F1}, flat {flatError:F1}");
        Assert.Equal(k, hierarchical.K);
    }

    private static double Objective(ReadOnlySpan<float> points, int dimension, KMeansResult result)
    {
        double total = 0;
        for (int i = 0; i < result.Assignments.Length; i++)
            total += EmbeddedVectors.Kernels.VectorKernels.SquaredL2(points.Slice(i * dimension, dimension), result.Centroids.AsSpan(result.Assignments[i] * dimension, dimension));
        return total;
    }

    [Fact]
    public void Shares_follow_the_cluster_sizes_and_sum_to_k()
    {
        int[] starts = [0, 1, 1, 50, 1000, 1003];
        int[] shares = HierarchicalKMeans.Shares(starts, 100);
        Assert.Equal(100, shares.Sum());
        Assert.Equal(0, shares[1]);
        Assert.All(new[] { 0, 2, 3, 4 }, g => Assert.InRange(shares[g], 1, starts[g + 1] - starts[g]));
        Assert.True(shares[3] > shares[2]);
    }

    [Fact]
    public void An_ivfpq_index_probing_through_the_graph_keeps_the_recall_of_flat_probing()
    {
        var data = RealData.Instance;
        double Recall(int graphMinNList)
        {
            var index = new IvfPqIndex(data.Dimension, Metric.L2, new IvfPqOptions
            {
                NList = 256, M = 48, KMeans = new KMeansOptions { Iterations = 8 }, CoarseGraphMinNList = graphMinNList,
            });
            index.Train(data.Base.AsSpan(0, 20_000 * data.Dimension));
            index.Add(data.Base);
            return data.RecallAt(index, 10, new SearchParameters { NProbe = 16, Rerank = 50 });
        }
        double flat = Recall(int.MaxValue), graph = Recall(64);
        Assert.True(graph >= flat - 0.01, $"graph {graph:F3}, flat {flat:F3}");
    }

    private const int StoreNList = 128;
    private static readonly StoreSearchOptions Search = new() { NProbe = 16, Rerank = 50 };

    /// <summary>Creates a store of nlist 128 trained on and holding the first <paramref name="rows"/> public rows; returns its answers to the queries.</summary>
    private static long[] CreateStore(string path, int graphMinNList, int rows)
    {
        var data = RealData.Instance;
        var options = new EmbeddedVectorStoreOptions
        {
            Dimension = data.Dimension, NList = StoreNList, M = 48, CoarseGraphMinNList = graphMinNList,
            Rows = RowEncoding.Float32, // rows re-ranked before and after the seal at close must be the same
            KMeans = new KMeansOptions { Iterations = 5 },
        };
        using var store = EmbeddedVectorStore.Create(path, options);
        store.Train(data.Base.AsSpan(0, rows * data.Dimension));
        store.AddRange(Enumerable.Range(0, rows).Select(i => (long)i).ToArray(), data.Base.AsSpan(0, rows * data.Dimension));
        return store.SearchBatch(data.Queries, 10, Search).Ids;
    }

    [Fact]
    public void A_store_persists_its_graph_answers_identically_after_reopening_and_rejects_a_damaged_graph()
    {
        var data = RealData.Instance;
        using var dir = new TempStoreDirectory();
        var search = Search;
        long[] before = CreateStore(dir.Path, graphMinNList: 100, rows: 12_000);
        string path = Path.Combine(dir.Path, CoarseGraphFile.FileName);
        Assert.True(File.Exists(path));
        Assert.True(Manifest.Read(dir.Path).CoarseGraph);
        // The persisted graph is used even when the open's threshold would not build one.
        using (var reopened = EmbeddedVectorStore.Open(dir.Path, new EmbeddedVectorStoreOptions { CoarseGraphMinNList = int.MaxValue }))
            Assert.Equal(before, reopened.SearchBatch(data.Queries, 10, search).Ids);

        var good = File.ReadAllBytes(path);
        var damaged = (byte[])good.Clone();
        damaged[^7] ^= 0x10;
        File.WriteAllBytes(path, damaged);
        var error = Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path));
        Assert.Equal(path, error.FilePath);

        // A neighbour id out of range, with valid checksums, is caught by the bounds check.
        File.WriteAllBytes(path, good);
        var file = CoarseGraphFile.Layout.Read(path, "missing");
        var fields = new int[CoarseGraphFile.Layout.FieldCount];
        for (int i = 0; i < fields.Length; i++) fields[i] = file.Field(i);
        var body = file.Body(good.Length - CoarseGraphFile.Layout.HeaderSize).ToArray();
        BitConverter.GetBytes(StoreNList + 5).CopyTo(body, 4 * StoreNList); // node 0's first level-0 neighbour
        CoarseGraphFile.Layout.Write(path, fields, body);
        error = Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path));
        Assert.Equal(path, error.FilePath);
        Assert.Contains("neighbour", error.Message);

        File.Delete(path);
        Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path));
    }

    [Fact]
    public void A_store_trained_without_a_graph_gets_one_at_its_first_open_above_the_threshold()
    {
        var data = RealData.Instance;
        using var dir = new TempStoreDirectory();
        var search = Search;
        long[] flat = CreateStore(dir.Path, graphMinNList: int.MaxValue, rows: 8_000);
        Assert.False(File.Exists(Path.Combine(dir.Path, CoarseGraphFile.FileName)));
        var withGraph = new EmbeddedVectorStoreOptions { CoarseGraphMinNList = 100 };
        using (var readOnly = EmbeddedVectorStore.Open(dir.Path, withGraph with { ReadOnly = true }))
            readOnly.SearchBatch(data.Queries, 10, search);
        Assert.False(File.Exists(Path.Combine(dir.Path, CoarseGraphFile.FileName)));
        long[] graph;
        using (var store = EmbeddedVectorStore.Open(dir.Path, withGraph))
            graph = store.SearchBatch(data.Queries, 10, search).Ids;
        Assert.True(Manifest.Read(dir.Path).CoarseGraph);
        using (var reopened = EmbeddedVectorStore.Open(dir.Path))
            Assert.Equal(graph, reopened.SearchBatch(data.Queries, 10, search).Ids);
        int same = 0;
        for (int i = 0; i < flat.Length; i++) if (flat[i] == graph[i]) same++;
        Assert.True(same >= 0.97 * flat.Length, $"{same} of {flat.Length}");
    }
}
