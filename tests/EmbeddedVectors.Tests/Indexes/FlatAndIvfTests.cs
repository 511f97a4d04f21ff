using EmbeddedVectors.Indexes;
using EmbeddedVectors.Search;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Tests.Indexes;

public sealed class FlatAndIvfTests
{
    private static readonly Lazy<FlatIndex> Flat = new(() =>
    {
        var data = RealData.Instance;
        var index = new FlatIndex(data.Dimension);
        index.Add(data.Base);
        return index;
    });

    private static readonly Lazy<IvfFlatIndex> Ivf = new(() =>
    {
        var data = RealData.Instance;
        var index = new IvfFlatIndex(data.Dimension, 128, Metric.L2, new KMeansOptions { Iterations = 10 });
        index.Train(data.Base.AsSpan(0, 20_000 * data.Dimension));
        index.Add(data.Base);
        return index;
    });

    [Fact]
    public void Flat_reproduces_the_exact_ground_truth()
    {
        Assert.Equal(1.0, RealData.Instance.RecallAt(Flat.Value, 10));
        Assert.Equal(1.0, RealData.Instance.RecallAt(Flat.Value, 100));
    }

    [Fact]
    public void Ivf_probing_every_cell_equals_flat_exactly()
    {
        var data = RealData.Instance;
        var all = new SearchParameters { NProbe = 128 };
        var ivf = Ivf.Value.SearchBatch(data.Queries, 20, all);
        var flat = Flat.Value.SearchBatch(data.Queries, 20);
        Assert.Equal(flat.Ids, ivf.Ids);
        Assert.Equal(flat.Distances, ivf.Distances);
    }

    [Fact]
    public void Ivf_recall_rises_with_nprobe()
    {
        var data = RealData.Instance;
        double previous = 0;
        var recalls = new List<double>();
        foreach (int nprobe in new[] { 1, 2, 4, 8, 16, 32 })
        {
            double recall = data.RecallAt(Ivf.Value, 10, new SearchParameters { NProbe = nprobe });
            recalls.Add(recall);
            Assert.True(recall >= previous, $"recall fell from {previous} to {recall} at nprobe {nprobe}");
            previous = recall;
        }
        // Measured: 0.62 at nprobe 1, 0.94 at 8, 0.99 at 32 (nlist 128, 300 queries).
        Assert.True(recalls[0] > 0.50, $"nprobe 1: {recalls[0]}");
        Assert.True(recalls[3] > 0.90, $"nprobe 8: {recalls[3]}");
        Assert.True(recalls[5] > 0.98, $"nprobe 32: {recalls[5]}");
    }

    [Fact]
    public void Single_and_batch_search_agree()
    {
        var data = RealData.Instance;
        var parameters = new SearchParameters { NProbe = 4 };
        var batch = Ivf.Value.SearchBatch(data.Queries, 10, parameters, threads: 2);
        for (int q = 0; q < 20; q++)
        {
            var single = Ivf.Value.Search(data.Query(q), 10, parameters);
            Assert.Equal(batch.IdsOf(q).ToArray(), single.Select(n => n.Id).ToArray());
        }
    }

    [Fact]
    public void Flat_distances_are_reported_per_metric()
    {
        var x = new float[] { 1, 0 };
        var y = new float[] { 0, 2 };
        var l2 = new FlatIndex(2, Metric.L2);
        l2.Add(y);
        Assert.Equal(5f, l2.Search(x, 1)[0].Distance, 5);
        var ip = new FlatIndex(2, Metric.InnerProduct);
        ip.Add(new float[] { 3, 1 });
        Assert.Equal(-3f, ip.Search(x, 1)[0].Distance, 5);
        var cosine = new FlatIndex(2, Metric.Cosine);
        cosine.Add(new float[] { 1, 1 });
        Assert.Equal(1 - MathF.Sqrt(0.5f), cosine.Search(x, 1)[0].Distance, 5);
    }

    [Fact]
    public void Inner_product_and_cosine_rank_unit_vectors_as_l2_does()
    {
        // The MiniLM embeddings are unit length, so all three metrics share the ground truth.
        var data = RealData.Instance;
        foreach (var metric in new[] { Metric.InnerProduct, Metric.Cosine })
        {
            var index = new IvfFlatIndex(data.Dimension, 64, metric, new KMeansOptions { Iterations = 8 });
            index.Train(data.Base.AsSpan(0, 10_000 * data.Dimension));
            index.Add(data.Base);
            double exhaustive = data.RecallAt(index, 10, new SearchParameters { NProbe = 64 });
            double probed = data.RecallAt(index, 10, new SearchParameters { NProbe = 8 });
            Assert.True(exhaustive > 0.999, $"{metric} nprobe 64: {exhaustive}");
            // Measured at nprobe 8: 0.906 for inner product (cells ranked by ⟨q, c⟩ favour long centroids), 0.94 for cosine.
            Assert.True(probed > (metric == Metric.InnerProduct ? 0.88 : 0.92), $"{metric} nprobe 8: {probed}");
        }
    }
}
