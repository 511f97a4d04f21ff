using EmbeddedVectors.Indexes;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Search;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Tests.Indexes;

public sealed class PqTests
{
    private const int TrainCount = 10_000;
    private static readonly KMeansOptions QuickKMeans = new() { Iterations = 10 };

    [Fact]
    public void Reconstruction_error_falls_as_m_grows()
    {
        var data = RealData.Instance;
        var train = data.Base.AsSpan(0, TrainCount * data.Dimension);
        var held = data.Base.AsSpan(TrainCount * data.Dimension, 2000 * data.Dimension).ToArray();
        double previous = double.MaxValue;
        foreach (int m in new[] { 8, 24, 96 })
        {
            var pq = ProductQuantizer.Train(train, TrainCount, data.Dimension, m, QuickKMeans);
            var codes = new byte[2000 * m];
            pq.Encode(held, codes);
            var decoded = new float[held.Length];
            pq.Decode(codes, decoded);
            double error = 0;
            for (int i = 0; i < 2000; i++)
                error += VectorKernels.SquaredL2(held.AsSpan(i * data.Dimension, data.Dimension), decoded.AsSpan(i * data.Dimension, data.Dimension));
            error /= 2000;
            Assert.True(error < previous * 0.9, $"m={m}: mean squared error {error} did not fall below {previous}");
            previous = error;
        }
        // Unit vectors have ‖x‖² = 1; 96 bytes keep most of it (measured ≈ 0.08).
        Assert.True(previous < 0.15, $"m=96 error {previous}");
    }

    [Fact]
    public void Asymmetric_distance_equals_the_distance_to_the_decoded_vector()
    {
        var data = RealData.Instance;
        var pq = ProductQuantizer.Train(data.Base.AsSpan(0, 5000 * data.Dimension), 5000, data.Dimension, 48, QuickKMeans);
        var table = new float[48 * 256];
        var code = new byte[48];
        var decoded = new float[data.Dimension];
        foreach (var metric in new[] { Metric.L2, Metric.InnerProduct })
        {
            pq.ComputeDistanceTable(data.Query(0), metric, table);
            for (int i = 0; i < 20; i++)
            {
                pq.Encode(data.Base.AsSpan((6000 + i) * data.Dimension, data.Dimension), code);
                pq.Decode(code, decoded);
                float exact = VectorKernels.RankingDistance(metric, data.Query(0), decoded);
                Assert.Equal(exact, pq.AsymmetricDistance(table, code), 1e-3f);
            }
        }
    }

    [Fact]
    public void Pq_index_recall_against_flat()
    {
        var data = RealData.Instance;
        var index = new PqIndex(data.Dimension, 48, Metric.L2, QuickKMeans);
        index.Train(data.Base.AsSpan(0, 20_000 * data.Dimension));
        index.Add(data.Base);
        double recall = data.RecallAt(index, 10);
        // Measured 0.75 (m = 48, trained on 20k).
        Assert.True(recall > 0.70, $"recall@10 {recall}");
    }

    [Fact]
    public void A_dimension_not_divisible_by_m_is_a_clear_error()
    {
        var e = Assert.Throws<ArgumentException>(() => new PqIndex(384, 50));
        Assert.Contains("not divisible", e.Message);
        Assert.Throws<ArgumentException>(() => ProductQuantizer.Train(new float[300 * 10], 300, 10, 3));
        Assert.Throws<ArgumentException>(() => new IvfPqIndex(100, Metric.L2, new IvfPqOptions { M = 7 }));
    }

    [Fact]
    public void Too_few_training_vectors_is_a_clear_error()
    {
        var e = Assert.Throws<ArgumentException>(() => ProductQuantizer.Train(new float[100 * 8], 100, 8, 2));
        Assert.Contains("256", e.Message);
    }

    [Fact]
    public void Codebooks_round_trip()
    {
        var data = RealData.Instance;
        var pq = ProductQuantizer.Train(data.Base.AsSpan(0, 3000 * data.Dimension), 3000, data.Dimension, 16, QuickKMeans);
        var copy = ProductQuantizer.FromCodebooks(data.Dimension, 16, pq.Codebooks);
        var a = new byte[16 * 10];
        var b = new byte[16 * 10];
        pq.Encode(data.Base.AsSpan(0, 10 * data.Dimension), a);
        copy.Encode(data.Base.AsSpan(0, 10 * data.Dimension), b);
        Assert.Equal(a, b);
        Assert.Throws<ArgumentException>(() => ProductQuantizer.FromCodebooks(data.Dimension, 16, pq.Codebooks[..100]));
    }
}
