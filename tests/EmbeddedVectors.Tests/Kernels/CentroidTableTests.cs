using EmbeddedVectors.Kernels;

namespace EmbeddedVectors.Tests.Kernels;

public sealed class CentroidTableTests
{
    private static float[] RandomValues(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = random.NextSingle() * 2 - 1;
        return values;
    }

    [Theory]
    [InlineData(1, 1, 5)]
    [InlineData(3, 5, 7)]
    [InlineData(8, 256, 33)]
    [InlineData(17, 64, 9)]
    [InlineData(17, 65, 9)]
    [InlineData(384, 130, 13)]
    public void FindNearest_agrees_with_brute_force(int dimension, int centroidCount, int pointCount)
    {
        var centroids = RandomValues(centroidCount * dimension, dimension);
        var points = RandomValues(pointCount * dimension, centroidCount);
        foreach (var metric in new[] { Metric.L2, Metric.InnerProduct })
        {
            var table = new CentroidTable(centroids, centroidCount, dimension, metric);
            var nearest = new int[pointCount];
            var distances = new float[pointCount];
            table.FindNearest(points, pointCount, nearest, distances);
            var all = new float[centroidCount];
            for (int p = 0; p < pointCount; p++)
            {
                var point = points.AsSpan(p * dimension, dimension);
                int bestIndex = 0;
                float best = float.PositiveInfinity;
                for (int c = 0; c < centroidCount; c++)
                {
                    float d = VectorKernels.RankingDistance(metric, point, centroids.AsSpan(c * dimension, dimension));
                    if (d < best) { best = d; bestIndex = c; }
                }
                float chosen = VectorKernels.RankingDistance(metric, point, centroids.AsSpan(nearest[p] * dimension, dimension));
                // The expanded form rounds differently from the direct one: the chosen centroid must be as near as the best, within rounding.
                Assert.True(chosen <= best + 1e-4f * Math.Max(1f, Math.Abs(best)), $"{metric} point {p}: chose {nearest[p]} ({chosen}), best {bestIndex} ({best})");
                Assert.Equal(best, distances[p], 1e-3f * Math.Max(1f, Math.Abs(best)));

                table.ComputeAll(point, all);
                for (int c = 0; c < centroidCount; c++)
                {
                    float direct = VectorKernels.RankingDistance(metric, point, centroids.AsSpan(c * dimension, dimension));
                    Assert.Equal(direct, all[c], 1e-3f * Math.Max(1f, Math.Abs(direct)));
                }
            }
        }
    }

    [Fact]
    public void Ties_go_to_the_smaller_index()
    {
        var centroids = new float[] { 1, 0, 1, 0, 0, 1, 1, 0 };
        var table = new CentroidTable(centroids, 4, 2, Metric.L2);
        var points = new float[] { 1, 0, 1, 0, 1, 0, 1, 0, 0, 1 };
        var nearest = new int[5];
        table.FindNearest(points, 5, nearest, new float[5]);
        Assert.Equal(new[] { 0, 0, 0, 0, 2 }, nearest);
    }
}
