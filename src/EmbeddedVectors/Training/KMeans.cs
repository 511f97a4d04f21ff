using EmbeddedVectors.Kernels;

namespace EmbeddedVectors.Training;

/// <summary>How k-means picks its starting centroids.</summary>
public enum KMeansInit
{
    /// <summary>k distinct points drawn at random from the training sample, as FAISS does. Cheap: the default.</summary>
    RandomSample = 0,

    /// <summary>k-means++ (Arthur and Vassilvitskii): spread-out seeds, better starts for small k, k passes over the sample.</summary>
    KMeansPlusPlus = 1,
}

/// <summary>Settings of a k-means run.</summary>
public sealed record KMeansOptions
{
    /// <summary>Lloyd iterations (default 25, as FAISS).</summary>
    public int Iterations { get; init; } = 25;

    /// <summary>Seed of every random choice; the same seed and input give the same centroids.</summary>
    public int Seed { get; init; } = 1234;

    /// <summary>The training sample is capped at <c>k × MaxPointsPerCentroid</c> points drawn at random (default 256, as FAISS).</summary>
    public int MaxPointsPerCentroid { get; init; } = 256;

    /// <summary>How the starting centroids are chosen.</summary>
    public KMeansInit Init { get; init; } = KMeansInit.RandomSample;

    /// <summary>Threads used for assignment; 0 means every core.</summary>
    public int Threads { get; init; }

    /// <summary>
    /// From this k on, <see cref="KMeans.Train"/> runs two-level k-means (<see cref="HierarchicalKMeans"/>): √k
    /// clusters first, then k-means inside each with a share of the k centroids proportional to its size. Default
    /// 8,192; <see cref="int.MaxValue"/> keeps flat k-means at every k.
    /// </summary>
    public int HierarchicalMinK { get; init; } = DefaultHierarchicalMinK;

    /// <summary>
    /// Full Lloyd passes over the sample after two-level k-means (default 1): each assigns every sample point to its
    /// nearest of all k centroids (through a graph over them from <see cref="CoarseQuantizer.DefaultGraphMinNList"/>
    /// centroids on) and moves each centroid to its points' mean, which repairs the top-level boundaries.
    /// </summary>
    public int HierarchicalRefinePasses { get; init; } = 1;

    /// <summary>The default <see cref="HierarchicalMinK"/>: 8,192.</summary>
    public const int DefaultHierarchicalMinK = 8_192;

    internal void Validate()
    {
        if (Iterations < 1) throw new ArgumentOutOfRangeException(nameof(Iterations), Iterations, "At least one iteration is needed.");
        if (MaxPointsPerCentroid < 1) throw new ArgumentOutOfRangeException(nameof(MaxPointsPerCentroid), MaxPointsPerCentroid, "Must be at least 1.");
        if (Threads < 0) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "Use 0 for every core, or a positive count.");
        if (HierarchicalRefinePasses < 0) throw new ArgumentOutOfRangeException(nameof(HierarchicalRefinePasses), HierarchicalRefinePasses, "Must be 0 or more.");
        if (HierarchicalMinK < 4) throw new ArgumentOutOfRangeException(nameof(HierarchicalMinK), HierarchicalMinK, "Must be at least 4.");
    }
}

/// <summary>The outcome of <see cref="KMeans.Train"/>.</summary>
public sealed class KMeansResult
{
    internal KMeansResult(float[] centroids, int k, int dimension, int[] assignments, double[] objectiveHistory)
    {
        Centroids = centroids;
        K = k;
        Dimension = dimension;
        Assignments = assignments;
        ObjectiveHistory = objectiveHistory;
    }

    /// <summary>The k centroids, row-major (<c>K × Dimension</c>).</summary>
    public float[] Centroids { get; }

    /// <summary>Number of centroids.</summary>
    public int K { get; }

    /// <summary>Length of each centroid.</summary>
    public int Dimension { get; }

    /// <summary>For every input point (not only the sample), the index of its nearest centroid (found through a graph over the centroids, so nearly always the nearest, when hierarchical k-means runs at k ≥ <see cref="CoarseQuantizer.DefaultGraphMinNList"/>).</summary>
    public int[] Assignments { get; }

    /// <summary>Sum of squared distances of the training sample to its nearest centroid, after each iteration's assignment.</summary>
    public double[] ObjectiveHistory { get; }
}

/// <summary>
/// Lloyd's k-means with squared L2, trained on a random sample, assignment spread over cores, and empty clusters
/// re-seeded by splitting the largest one.
/// </summary>
public static class KMeans
{
    private const int AssignChunk = 256;

    /// <summary>Clusters <paramref name="n"/> row-major points of length <paramref name="dimension"/> into <paramref name="k"/> centroids.</summary>
    /// <remarks>
    /// When <c>k ≥ n</c> every point becomes its own centroid and the remaining centroids repeat points, so the
    /// objective is zero. Duplicate points are fine: a cluster left empty is re-seeded beside the largest one.
    /// </remarks>
    /// <exception cref="ArgumentException">The sizes do not fit, or a value is NaN or infinite.</exception>
    public static KMeansResult Train(ReadOnlySpan<float> points, int n, int dimension, int k, KMeansOptions? options = null)
    {
        options ??= new KMeansOptions();
        options.Validate();
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "k-means needs at least one point.");
        if (dimension < 1) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "The dimension must be positive.");
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1.");
        if (points.Length != (long)n * dimension)
            throw new ArgumentException($"Expected {n} × {dimension} = {(long)n * dimension} values, got {points.Length}.", nameof(points));
        VectorChecks.ThrowIfNotFinite(points, dimension, nameof(points));

        var random = new Random(options.Seed);
        if (k >= n) return EveryPointItsOwnCentroid(points, n, dimension, k);
        if (k >= options.HierarchicalMinK) return HierarchicalKMeans.Train(points, n, dimension, k, options, random);

        float[] sample = DrawSample(points, n, dimension, (long)k * options.MaxPointsPerCentroid, random, out int sampleCount);
        float[] centroids = options.Init == KMeansInit.KMeansPlusPlus
            ? SeedPlusPlus(sample, sampleCount, dimension, k, random, options.Threads)
            : SeedRandom(sample, sampleCount, dimension, k, random);

        var assignment = new int[sampleCount];
        var distances = new float[sampleCount];
        var history = new double[options.Iterations];
        var counts = new int[k];
        var sums = new double[(long)k * dimension];
        for (int iteration = 0; iteration < options.Iterations; iteration++)
        {
            var table = new CentroidTable(centroids, k, dimension, Metric.L2);
            Assign(table, sample, sampleCount, assignment, distances, options.Threads);
            history[iteration] = SumOf(distances);
            if (iteration == options.Iterations - 1) break;
            UpdateCentroids(sample, sampleCount, dimension, k, assignment, centroids, counts, sums);
            SplitEmptyClusters(centroids, counts, ClusterErrors(assignment, distances, k), dimension, k, random);
        }

        var all = new int[n];
        var finalTable = new CentroidTable(centroids, k, dimension, Metric.L2);
        Assign(finalTable, points, n, all, new float[n], options.Threads);
        return new KMeansResult(centroids, k, dimension, all, history);
    }

    /// <summary>Nearest centroid of each point, computed in parallel chunks.</summary>
    internal static void Assign(CentroidTable table, ReadOnlySpan<float> points, int n, int[] nearest, float[] distances, int threads)
    {
        int dim = table.Dimension;
        int chunks = (n + AssignChunk - 1) / AssignChunk;
        if (chunks == 1 || threads == 1)
        {
            table.FindNearest(points, n, nearest, distances);
            return;
        }
        unsafe
        {
            fixed (float* basePointer = points)
            {
                nint address = (nint)basePointer;
                Parallel.For(0, chunks, Parallelism.Options(threads), chunk =>
                {
                    int start = chunk * AssignChunk;
                    int count = Math.Min(AssignChunk, n - start);
                    var slice = new ReadOnlySpan<float>((float*)address + (long)start * dim, count * dim);
                    table.FindNearest(slice, count, nearest.AsSpan(start, count), distances.AsSpan(start, count));
                });
            }
        }
    }

    private static double[] ClusterErrors(int[] assignment, float[] distances, int k)
    {
        var errors = new double[k];
        for (int i = 0; i < assignment.Length; i++) errors[assignment[i]] += distances[i];
        return errors;
    }

    private static double SumOf(float[] values)
    {
        double sum = 0;
        foreach (float v in values) sum += v;
        return sum;
    }

    private static KMeansResult EveryPointItsOwnCentroid(ReadOnlySpan<float> points, int n, int dimension, int k)
    {
        var centroids = new float[(long)k * dimension];
        for (int c = 0; c < k; c++)
            points.Slice(c % n * dimension, dimension).CopyTo(centroids.AsSpan(c * dimension, dimension));
        var assignments = new int[n];
        for (int i = 0; i < n; i++) assignments[i] = i;
        return new KMeansResult(centroids, k, dimension, assignments, [0.0]);
    }

    internal static float[] DrawSample(ReadOnlySpan<float> points, int n, int dimension, long maxCount, Random random, out int count)
    {
        if (n <= maxCount)
        {
            count = n;
            return points.ToArray();
        }
        count = (int)maxCount;
        int[] chosen = PartialShuffle(n, count, random);
        Array.Sort(chosen); // keeps the sample in input order, so reads stay sequential
        var sample = new float[(long)count * dimension];
        for (int i = 0; i < count; i++)
            points.Slice(chosen[i] * dimension, dimension).CopyTo(sample.AsSpan(i * dimension, dimension));
        return sample;
    }

    /// <summary>The first <paramref name="count"/> entries of a seeded Fisher–Yates shuffle of 0..n−1.</summary>
    internal static int[] PartialShuffle(int n, int count, Random random)
    {
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        for (int i = 0; i < count; i++)
        {
            int j = random.Next(i, n);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order.AsSpan(0, count).ToArray();
    }

    private static float[] SeedRandom(float[] sample, int count, int dimension, int k, Random random)
    {
        int[] chosen = PartialShuffle(count, k, random);
        var centroids = new float[(long)k * dimension];
        for (int c = 0; c < k; c++)
            sample.AsSpan(chosen[c] * dimension, dimension).CopyTo(centroids.AsSpan(c * dimension, dimension));
        return centroids;
    }

    private static float[] SeedPlusPlus(float[] sample, int count, int dimension, int k, Random random, int threads)
    {
        var centroids = new float[(long)k * dimension];
        var nearest = new float[count];
        Array.Fill(nearest, float.PositiveInfinity);
        int first = random.Next(count);
        sample.AsSpan(first * dimension, dimension).CopyTo(centroids);
        for (int c = 1; c <= k; c++)
        {
            var latest = centroids.AsMemory((c - 1) * dimension, dimension);
            double total = 0;
            object gate = new();
            Parallel.For(0, (count + AssignChunk - 1) / AssignChunk, Parallelism.Options(threads), () => 0.0, (chunk, _, partial) =>
            {
                int end = Math.Min(count, (chunk + 1) * AssignChunk);
                for (int i = chunk * AssignChunk; i < end; i++)
                {
                    float d = VectorKernels.SquaredL2(sample.AsSpan(i * dimension, dimension), latest.Span);
                    if (d < nearest[i]) nearest[i] = d;
                    partial += nearest[i];
                }
                return partial;
            }, partial => { lock (gate) total += partial; });
            if (c == k) break;
            // Draw the next seed with probability proportional to the squared distance to the nearest seed so far.
            double target = random.NextDouble() * total;
            int pick = count - 1;
            double running = 0;
            for (int i = 0; i < count; i++)
            {
                running += nearest[i];
                if (running >= target && nearest[i] > 0) { pick = i; break; }
            }
            sample.AsSpan(pick * dimension, dimension).CopyTo(centroids.AsSpan(c * dimension, dimension));
        }
        return centroids;
    }

    internal static void UpdateCentroids(float[] sample, int count, int dimension, int k, int[] assignment,
        float[] centroids, int[] counts, double[] sums)
    {
        Array.Clear(counts);
        Array.Clear(sums);
        for (int i = 0; i < count; i++)
        {
            int c = assignment[i];
            counts[c]++;
            var point = sample.AsSpan(i * dimension, dimension);
            var sum = sums.AsSpan(c * dimension, dimension);
            for (int j = 0; j < dimension; j++) sum[j] += point[j];
        }
        for (int c = 0; c < k; c++)
        {
            if (counts[c] == 0) continue;
            double inverse = 1.0 / counts[c];
            var centroid = centroids.AsSpan(c * dimension, dimension);
            var sum = sums.AsSpan(c * dimension, dimension);
            for (int j = 0; j < dimension; j++) centroid[j] = (float)(sum[j] * inverse);
        }
    }

    /// <summary>
    /// Gives each empty cluster a centroid just beside the centroid of the cluster with the largest error, so the
    /// next assignment splits that cluster. Splitting by error rather than by size matters for duplicate points: a
    /// large cluster of identical points has nothing to split. The source centroid stays where it is, so the
    /// objective cannot rise.
    /// </summary>
    private static void SplitEmptyClusters(float[] centroids, int[] counts, double[] errors, int dimension, int k, Random random)
    {
        for (int empty = 0; empty < k; empty++)
        {
            if (counts[empty] != 0) continue;
            int worst = 0;
            for (int c = 1; c < k; c++) if (errors[c] > errors[worst]) worst = c;
            if (!(errors[worst] > 0) || counts[worst] < 2) return; // every cluster is tight: nothing left to split
            var source = centroids.AsSpan(worst * dimension, dimension);
            var target = centroids.AsSpan(empty * dimension, dimension);
            for (int j = 0; j < dimension; j++)
            {
                float nudge = (random.Next(2) == 0 ? 1f : -1f) / 1024f;
                target[j] = source[j] * (1f + nudge) + nudge * 1e-3f;
            }
            counts[empty] = counts[worst] / 2;
            counts[worst] -= counts[empty];
            errors[worst] /= 2;
            errors[empty] = errors[worst];
        }
    }
}
