using EmbeddedVectors.Training;

namespace EmbeddedVectors.Tests.Training;

public sealed class KMeansTests
{
    /// <summary>Points around <paramref name="clusters"/> well-separated centres.</summary>
    private static float[] Blobs(int clusters, int perCluster, int dimension, int seed)
    {
        var random = new Random(seed);
        var points = new float[clusters * perCluster * dimension];
        for (int c = 0; c < clusters; c++)
        {
            var centre = new float[dimension];
            for (int j = 0; j < dimension; j++) centre[j] = random.NextSingle() * 100;
            for (int i = 0; i < perCluster; i++)
                for (int j = 0; j < dimension; j++)
                    points[((c * perCluster) + i) * dimension + j] = centre[j] + random.NextSingle() - 0.5f;
        }
        return points;
    }

    [Theory]
    [InlineData(KMeansInit.RandomSample)]
    [InlineData(KMeansInit.KMeansPlusPlus)]
    public void The_objective_never_increases(KMeansInit init)
    {
        var points = RealOrBlobs(out int n, out int dim);
        var result = KMeans.Train(points, n, dim, 32, new KMeansOptions { Iterations = 15, Init = init });
        for (int i = 1; i < result.ObjectiveHistory.Length; i++)
            Assert.True(result.ObjectiveHistory[i] <= result.ObjectiveHistory[i - 1] * (1 + 1e-5),
                $"iteration {i}: {result.ObjectiveHistory[i]} > {result.ObjectiveHistory[i - 1]}");
        Assert.True(result.ObjectiveHistory[^1] < result.ObjectiveHistory[0]);
    }

    private static float[] RealOrBlobs(out int n, out int dim)
    {
        var data = RealData.Instance;
        n = 5000;
        dim = data.Dimension;
        return data.Base.AsSpan(0, n * dim).ToArray();
    }

    [Fact]
    public void Well_separated_blobs_are_found()
    {
        const int clusters = 8, per = 50, dim = 5;
        var points = Blobs(clusters, per, dim, 3);
        var result = KMeans.Train(points, clusters * per, dim, clusters, new KMeansOptions { Init = KMeansInit.KMeansPlusPlus, Seed = 9 });
        for (int c = 0; c < clusters; c++)
        {
            var labels = result.Assignments.AsSpan(c * per, per).ToArray();
            Assert.All(labels, l => Assert.Equal(labels[0], l));
        }
        Assert.Equal(clusters, result.Assignments.Distinct().Count());
    }

    [Fact]
    public void The_same_seed_gives_the_same_centroids()
    {
        var points = Blobs(4, 100, 6, 4);
        var a = KMeans.Train(points, 400, 6, 10, new KMeansOptions { Seed = 42 });
        var b = KMeans.Train(points, 400, 6, 10, new KMeansOptions { Seed = 42 });
        Assert.Equal(a.Centroids, b.Centroids);
        Assert.Equal(a.Assignments, b.Assignments);
    }

    [Fact]
    public void Training_uses_a_sample_of_at_most_k_times_max_points_per_centroid()
    {
        var points = Blobs(4, 500, 3, 5);
        var result = KMeans.Train(points, 2000, 3, 4, new KMeansOptions { MaxPointsPerCentroid = 10 });
        Assert.Equal(2000, result.Assignments.Length);
        Assert.Equal(4 * 3, result.Centroids.Length);
    }

    [Fact]
    public void K_at_least_n_makes_every_point_a_centroid()
    {
        var points = new float[] { 1, 2, 3, 4, 5, 6 };
        var result = KMeans.Train(points, 3, 2, 5);
        Assert.Equal(new[] { 0, 1, 2 }, result.Assignments);
        Assert.Equal(10, result.Centroids.Length);
        Assert.Equal(0.0, result.ObjectiveHistory[^1]);
    }

    [Fact]
    public void Duplicate_points_leave_no_cluster_empty_when_enough_distinct_points_exist()
    {
        // 300 copies of 3 points plus 5 distinct ones: 8 distinct positions, 8 clusters.
        float[] repeated = [0f, 0f, 10f, 10f, -10f, 5f];
        var list = new List<float>();
        for (int i = 0; i < 300; i++) list.AddRange(repeated.AsSpan(i % 3 * 2, 2).ToArray());
        for (int i = 0; i < 5; i++) list.AddRange([50f + i * 10, -50f]);
        var points = list.ToArray();
        int n = points.Length / 2;
        var result = KMeans.Train(points, n, 2, 8, new KMeansOptions { Iterations = 30 });
        Assert.Equal(8, result.Assignments.Distinct().Count());
        Assert.Equal(0.0, result.ObjectiveHistory[^1], 6);
        Assert.All(result.Centroids, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void All_identical_points_do_not_hang_or_produce_nan()
    {
        var points = Enumerable.Repeat(1.5f, 100 * 4).ToArray();
        var result = KMeans.Train(points, 100, 4, 7);
        Assert.All(result.Centroids, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(0.0, result.ObjectiveHistory[^1], 6);
    }

    [Fact]
    public void Bad_arguments_are_rejected_with_clear_messages()
    {
        var points = new float[20];
        Assert.Throws<ArgumentOutOfRangeException>(() => KMeans.Train(points, 10, 2, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => KMeans.Train(points, 0, 2, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => KMeans.Train(points, 10, 0, 1));
        var e = Assert.Throws<ArgumentException>(() => KMeans.Train(points, 9, 2, 3));
        Assert.Contains("values", e.Message);
        points[7] = float.NaN;
        e = Assert.Throws<ArgumentException>(() => KMeans.Train(points, 10, 2, 3));
        Assert.Contains("NaN", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => KMeans.Train(new float[20], 10, 2, 3, new KMeansOptions { Iterations = 0 }));
    }
}
