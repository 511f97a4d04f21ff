using EmbeddedVectors.Kernels;

namespace EmbeddedVectors.Training;

/// <summary>
/// Two-level k-means for large k (tens of thousands of cells), where flat Lloyd iterations cost n × k × d each:
/// k-means with √k centroids on the sample, then, inside each of those clusters, k-means with a share of the k
/// centroids proportional to the cluster's size. Each inner run sees about n / √k points and √k centroids, so the
/// whole costs about 2 n √k d per iteration instead of n k d.
/// </summary>
/// <remarks>
/// The shares are rounded by largest remainder so they sum to k, with at least one centroid per non-empty cluster
/// and at most one per point. Inner runs are independent and run in parallel, one thread each, with seeds derived
/// from <see cref="KMeansOptions.Seed"/>, so a seed fixes the result. The inner runs place centroids only inside their
/// top-level cluster, which is right for all but points near a top-level
/// boundary, until <see cref="KMeansOptions.HierarchicalRefinePasses"/> full Lloyd passes over the sample (assigning
/// through a graph over the centroids at large k) repair those boundaries. Each point's reported assignment is then
/// its nearest centroid over all k (through the graph at large k).
/// </remarks>
public static class HierarchicalKMeans
{
    /// <summary>Clusters <paramref name="n"/> row-major points into <paramref name="k"/> centroids with two-level k-means.</summary>
    /// <exception cref="ArgumentException">The sizes do not fit, or a value is NaN or infinite.</exception>
    public static KMeansResult Train(ReadOnlySpan<float> points, int n, int dimension, int k, KMeansOptions? options = null)
    {
        options ??= new KMeansOptions();
        options.Validate();
        if (n < 1 || dimension < 1 || k < 1) throw new ArgumentException("n, dimension and k must be positive.");
        if (points.Length != (long)n * dimension)
            throw new ArgumentException($"Expected {n} × {dimension} = {(long)n * dimension} values, got {points.Length}.", nameof(points));
        VectorChecks.ThrowIfNotFinite(points, dimension, nameof(points));
        if (k >= n) return KMeans.Train(points, n, dimension, k, options);
        return Train(points, n, dimension, k, options, new Random(options.Seed));
    }

    internal static KMeansResult Train(ReadOnlySpan<float> points, int n, int dimension, int k, KMeansOptions options, Random random)
    {
        float[] sample = KMeans.DrawSample(points, n, dimension, (long)k * options.MaxPointsPerCentroid, random, out int count);
        int groups = Math.Max(2, (int)Math.Round(Math.Sqrt(k)));
        var flat = options with { HierarchicalMinK = int.MaxValue };
        var top = KMeans.Train(sample, count, dimension, groups, flat);

        // Sample points grouped by top-level cluster, and each cluster's share of the k centroids.
        int[] order = GroupBy(top.Assignments, groups, out int[] starts);
        int[] shares = Shares(starts, k);
        var firstCentroid = new int[groups + 1];
        for (int g = 0; g < groups; g++) firstCentroid[g + 1] = firstCentroid[g] + shares[g];

        var centroids = new float[(long)k * dimension];
        var objective = new double[groups];
        Parallel.For(0, groups, Parallelism.Options(options.Threads), g =>
        {
            int size = starts[g + 1] - starts[g];
            if (shares[g] == 0) return;
            var members = Gather(sample, dimension, order.AsSpan(starts[g], size));
            var inner = KMeans.Train(members, size, dimension, shares[g], flat with { Threads = 1, Seed = options.Seed + 7919 * (g + 1) });
            inner.Centroids.CopyTo(centroids.AsSpan(firstCentroid[g] * dimension, shares[g] * dimension));
            objective[g] = inner.ObjectiveHistory[^1];
        });

        double total = 0;
        foreach (double o in objective) total += o;
        CentroidGraph? graph = null;
        var sampleNearest = new int[count];
        for (int pass = 0; pass < options.HierarchicalRefinePasses; pass++)
            total = RefinePass(sample, count, dimension, k, centroids, sampleNearest, ref graph, options.Threads);
        var assignments = new int[n];
        AssignNearest(points, n, dimension, k, centroids, assignments, ref graph, options.Threads);
        return new KMeansResult(centroids, k, dimension, assignments, [total]);
    }

    /// <summary>One Lloyd pass over the sample with all k centroids; returns the objective of its assignment.</summary>
    private static double RefinePass(float[] sample, int count, int dimension, int k, float[] centroids, int[] nearest, ref CentroidGraph? graph, int threads)
    {
        AssignNearest(sample, count, dimension, k, centroids, nearest, ref graph, threads);
        double objective = 0;
        for (int i = 0; i < count; i++)
            objective += VectorKernels.SquaredL2(sample.AsSpan(i * dimension, dimension), centroids.AsSpan(nearest[i] * dimension, dimension));
        KMeans.UpdateCentroids(sample, count, dimension, k, nearest, centroids, new int[k], new double[(long)k * dimension]);
        return objective;
    }

    /// <summary>
    /// Each point's nearest centroid: by a scan of every centroid below <see cref="CoarseQuantizer.DefaultGraphMinNList"/>,
    /// else through a graph over them, built once and kept across passes (it reads the centroids in place, so moved
    /// centroids are measured where they are; only its links date from its build).
    /// </summary>
    private static void AssignNearest(ReadOnlySpan<float> points, int n, int dimension, int k, float[] centroids, int[] nearest, ref CentroidGraph? graph, int threads)
    {
        if (k < CoarseQuantizer.DefaultGraphMinNList)
        {
            KMeans.Assign(new CentroidTable(centroids, k, dimension, Metric.L2), points, n, nearest, new float[n], threads);
            return;
        }
        graph ??= CentroidGraph.Build(centroids, k, dimension, Metric.L2);
        graph.NearestMany(points, n, nearest, CoarseQuantizer.GraphAssignEf, threads);
    }

    /// <summary>The indexes 0..n−1 ordered by group (stable), and where each group starts (<c>starts[groups]</c> = n).</summary>
    private static int[] GroupBy(int[] group, int groups, out int[] starts)
    {
        starts = new int[groups + 1];
        foreach (int g in group) starts[g + 1]++;
        for (int g = 0; g < groups; g++) starts[g + 1] += starts[g];
        var next = starts.AsSpan(0, groups).ToArray();
        var order = new int[group.Length];
        for (int i = 0; i < group.Length; i++) order[next[group[i]]++] = i;
        return order;
    }

    /// <summary>
    /// Each group's share of <paramref name="k"/> centroids, proportional to its size by largest remainder, at least
    /// one for a non-empty group and at most its size. The sizes sum to at least k, so the shares sum to exactly k.
    /// </summary>
    internal static int[] Shares(int[] starts, int k)
    {
        int groups = starts.Length - 1;
        long n = starts[groups];
        var shares = new int[groups];
        var remainders = new double[groups];
        int assigned = 0;
        for (int g = 0; g < groups; g++)
        {
            int size = starts[g + 1] - starts[g];
            double quota = (double)k * size / n;
            shares[g] = Math.Min(size, Math.Max(size > 0 ? 1 : 0, (int)quota));
            remainders[g] = quota - shares[g];
            assigned += shares[g];
        }
        while (assigned != k)
        {
            // One centroid at a time to the group most under (or from the one most over) its quota.
            int pick = -1;
            for (int g = 0; g < groups; g++)
            {
                int size = starts[g + 1] - starts[g];
                bool eligible = assigned < k ? shares[g] < size : shares[g] > 1;
                if (!eligible) continue;
                if (pick < 0 || (assigned < k ? remainders[g] > remainders[pick] : remainders[g] < remainders[pick])) pick = g;
            }
            int step = assigned < k ? 1 : -1;
            shares[pick] += step;
            remainders[pick] -= step;
            assigned += step;
        }
        return shares;
    }

    private static float[] Gather(ReadOnlySpan<float> points, int dimension, ReadOnlySpan<int> rows)
    {
        var gathered = new float[(long)rows.Length * dimension];
        for (int i = 0; i < rows.Length; i++) points.Slice(rows[i] * dimension, dimension).CopyTo(gathered.AsSpan(i * dimension, dimension));
        return gathered;
    }
}
