using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
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

    private static readonly (int Dimension, int Centroids, int Points)[] Shapes =
        [(1, 1, 5), (3, 5, 7), (8, 256, 33), (17, 64, 9), (17, 65, 9), (384, 130, 13)];

    /// <summary>The table's two bodies, 512- and 128-bit, in bits.</summary>
    private static readonly int[] Widths = [(int)KernelWidth.Vector512, (int)KernelWidth.Vector128];

    public static TheoryData<int, int, int, int> ShapesAndWidths()
    {
        var data = new TheoryData<int, int, int, int>();
        foreach (int width in Widths)
            foreach (var (d, c, p) in Shapes) data.Add(d, c, p, width);
        return data;
    }

    public static TheoryData<int, int, int> ShapeData()
    {
        var data = new TheoryData<int, int, int>();
        foreach (var (d, c, p) in Shapes) data.Add(d, c, p);
        return data;
    }

    [Theory]
    [MemberData(nameof(ShapesAndWidths))]
    public void FindNearest_agrees_with_brute_force(int dimension, int centroidCount, int pointCount, int width)
    {
        var kernel = KernelWidthData.Width(width);
        var centroids = RandomValues(centroidCount * dimension, dimension);
        var points = RandomValues(pointCount * dimension, centroidCount);
        foreach (var metric in new[] { Metric.L2, Metric.InnerProduct })
        {
            var table = new CentroidTable(centroids, centroidCount, dimension, metric);
            var nearest = new int[pointCount];
            var distances = new float[pointCount];
            table.FindNearest(points, pointCount, nearest, distances, kernel);
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

                table.ComputeAll(point, all, kernel);
                for (int c = 0; c < centroidCount; c++)
                {
                    float direct = VectorKernels.RankingDistance(metric, point, centroids.AsSpan(c * dimension, dimension));
                    Assert.Equal(direct, all[c], 1e-3f * Math.Max(1f, Math.Abs(direct)));
                }
            }
        }
    }

    [SkippableTheory]
    [MemberData(nameof(ShapeData))]
    public void The_128_bit_bodies_give_the_512_bit_results_bit_for_bit(int dimension, int centroidCount, int pointCount)
    {
        // Each score is the same chain of fused multiply-adds in both bodies; without FMA the 128-bit body rounds twice.
        Skip.IfNot(Fma.IsSupported || AdvSimd.IsSupported, "The 128-bit body fuses multiply-adds only with x86 FMA or on ARM64.");
        var centroids = RandomValues(centroidCount * dimension, dimension + 1);
        var points = RandomValues(pointCount * dimension, centroidCount + 1);
        foreach (var metric in new[] { Metric.L2, Metric.InnerProduct })
        {
            var table = new CentroidTable(centroids, centroidCount, dimension, metric);
            var (wideNearest, wideDistances) = (new int[pointCount], new float[pointCount]);
            var (narrowNearest, narrowDistances) = (new int[pointCount], new float[pointCount]);
            table.FindNearest(points, pointCount, wideNearest, wideDistances, KernelWidth.Vector512);
            table.FindNearest(points, pointCount, narrowNearest, narrowDistances, KernelWidth.Vector128);
            Assert.Equal(wideNearest, narrowNearest);
            Assert.Equal(wideDistances, narrowDistances);
            var (wideAll, narrowAll) = (new float[centroidCount], new float[centroidCount]);
            table.ComputeAll(points.AsSpan(0, dimension), wideAll, KernelWidth.Vector512);
            table.ComputeAll(points.AsSpan(0, dimension), narrowAll, KernelWidth.Vector128);
            Assert.Equal(wideAll, narrowAll);
        }
    }

    [Theory]
    [InlineData(512)]
    [InlineData(128)]
    public void Ties_go_to_the_smaller_index(int width)
    {
        var centroids = new float[] { 1, 0, 1, 0, 0, 1, 1, 0 };
        var table = new CentroidTable(centroids, 4, 2, Metric.L2);
        var points = new float[] { 1, 0, 1, 0, 1, 0, 1, 0, 0, 1 };
        var nearest = new int[5];
        table.FindNearest(points, 5, nearest, new float[5], KernelWidthData.Width(width));
        Assert.Equal(new[] { 0, 0, 0, 0, 2 }, nearest);
    }

    [Theory]
    [InlineData(512)]
    [InlineData(128)]
    public void Ties_across_blocks_and_lanes_go_to_the_smaller_index(int width)
    {
        // 200 copies of one centroid span four blocks and every lane; the nearest must be the first copy.
        const int dimension = 3, count = 200;
        var centroids = new float[count * dimension];
        for (int c = 0; c < count; c++) { centroids[c * dimension] = 1; centroids[c * dimension + 1] = 2; centroids[c * dimension + 2] = 3; }
        centroids[0] = 50; // the first copy differs, so the answer is the second
        var table = new CentroidTable(centroids, count, dimension, Metric.L2);
        var points = new float[5 * dimension];
        for (int p = 0; p < 5; p++) { points[p * dimension] = 1; points[p * dimension + 1] = 2; points[p * dimension + 2] = 3; }
        var nearest = new int[5];
        table.FindNearest(points, 5, nearest, new float[5], KernelWidthData.Width(width));
        Assert.All(nearest, n => Assert.Equal(1, n));
    }
}
