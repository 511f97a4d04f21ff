using EmbeddedVectors.Indexes;
using EmbeddedVectors.Search;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Tests.Indexes;

public sealed class FastScanIndexTests
{
    private static readonly Lazy<IvfPqIndex> Shared = new(() => Build(Metric.L2));

    private static IvfPqIndex Build(Metric metric)
    {
        var data = RealData.Instance;
        var index = new IvfPqIndex(data.Dimension, metric, new IvfPqOptions { Codes = VectorCodes.Pq4FastScan, NList = 256, M = 96, KMeans = new KMeansOptions { Iterations = 10 } });
        index.Train(data.Base.AsSpan(0, 20_000 * data.Dimension));
        index.Add(data.Base);
        return index;
    }

    [Fact]
    public void Recall_with_reranking_rises_with_nprobe_and_reaches_the_measured_level()
    {
        var data = RealData.Instance;
        var recalls = new Dictionary<int, double>();
        foreach (int nprobe in new[] { 1, 4, 16, 32 })
            recalls[nprobe] = data.RecallAt(Shared.Value, 10, new SearchParameters { NProbe = nprobe, Rerank = 100 });
        string all = string.Join(", ", recalls.Select(r => $"{r.Key}: {r.Value:F3}"));
        Assert.True(recalls[1] < recalls[4] && recalls[4] < recalls[16] && recalls[16] <= recalls[32] + 0.002, all);
        Assert.True(recalls[16] > 0.90, all);
        Assert.True(recalls[32] > 0.93, all);
    }

    [Fact]
    public void Estimates_without_reranking_are_useful_and_reranking_improves_them()
    {
        var data = RealData.Instance;
        double plain = data.RecallAt(Shared.Value, 10, new SearchParameters { NProbe = 16 });
        double reranked = data.RecallAt(Shared.Value, 10, new SearchParameters { NProbe = 16, Rerank = 100 });
        Assert.True(plain > 0.45, $"plain {plain}");
        Assert.True(reranked > plain + 0.2, $"reranked {reranked}, plain {plain}");
    }

    [Fact]
    public void Inner_product_and_cosine_work_too()
    {
        var data = RealData.Instance;
        foreach (var metric in new[] { Metric.InnerProduct, Metric.Cosine })
        {
            double recall = data.RecallAt(Build(metric), 10, new SearchParameters { NProbe = 16, Rerank = 100 });
            Assert.True(recall > 0.88, $"{metric}: {recall}");
        }
    }
}
