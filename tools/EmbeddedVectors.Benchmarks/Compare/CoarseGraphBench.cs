using System.Diagnostics;
using System.Globalization;
using EmbeddedVectors.Benchmarks.Store;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Benchmarks.Compare;

/// <summary>
/// The graph coarse quantizer and large-nlist training (docs/benchmarks-scale.md):
/// <c>coarse --rows N --nlist K [--flat | --hierarchical] [--ef E,E,..] [--centroids FILE] [--points-per-centroid P] [--sigma S] [--data DIR]</c> makes N rows as
/// the store benchmarks do (the public rows, then noisy renormalised copies), trains K cells (hierarchical above
/// <see cref="KMeansOptions.HierarchicalMinK"/>, or always flat or always hierarchical; centroids are cached in
/// <c>--centroids</c> when given), builds the graph, and compares
/// graph and flat probes of the public queries at nprobe 16, 32 and 64 on one thread: overlap of the returned
/// cells, distance computations and time per query. With N ≤ the public set's size it also reports IVF-Flat
/// recall@10 (the share of true top-10 neighbours whose cell is probed) against the public ground truth.
/// </summary>
internal static class CoarseGraphBench
{
    private static readonly int[] Probes = [1, 4, 16, 32, 64];

    public static int Run(string[] args)
    {
        int rows = int.Parse(Option(args, "--rows") ?? "1000000", CultureInfo.InvariantCulture);
        int nlist = int.Parse(Option(args, "--nlist") ?? "65536", CultureInfo.InvariantCulture);
        double sigma = double.Parse(Option(args, "--sigma") ?? "0.01", CultureInfo.InvariantCulture);
        int perCentroid = int.Parse(Option(args, "--points-per-centroid") ?? "256", CultureInfo.InvariantCulture);
        bool flat = args.Contains("--flat");
        bool hierarchical = args.Contains("--hierarchical");
        var data = Dataset.Load(Option(args, "--data") ?? Dataset.DefaultDirectory, withBase: true, withQueries: true, withTruth: true);
        int dim = data.Dimension;
        Console.WriteLine($"{Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Trim()}");

        var vectors = new float[(long)rows * dim];
        const int chunk = 65_536;
        var buffer = new float[chunk * dim];
        for (int first = 0; first < rows; first += chunk)
        {
            int count = Math.Min(chunk, rows - first);
            ScaledRows.Fill(data, first, count, buffer, sigma);
            buffer.AsSpan(0, count * dim).CopyTo(vectors.AsSpan(checked(first * dim)));
        }

        var options = new KMeansOptions { MaxPointsPerCentroid = perCentroid, HierarchicalMinK = flat ? int.MaxValue : hierarchical ? 4 : KMeansOptions.DefaultHierarchicalMinK };
        var clock = Stopwatch.StartNew();
        string? cache = Option(args, "--centroids");
        float[] centroids;
        if (cache != null && File.Exists(cache))
        {
            centroids = EmbeddedVectors.IO.VectorFile.ReadAllFloats(cache, out _);
            Console.WriteLine($"centroids read from {cache}");
        }
        else
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var result = KMeans.Train(vectors, rows, dim, nlist, options);
            centroids = result.Centroids;
            Console.WriteLine($"train: {rows:N0} rows, nlist {nlist:N0}, {(flat ? "flat" : nlist >= options.HierarchicalMinK ? "hierarchical" : "flat (below threshold)")} k-means, " +
                $"{clock.Elapsed.TotalSeconds:F1} s wall, {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds:F0} s CPU, objective {Objective(vectors, rows, dim, result):F5} a row");
            if (cache != null) EmbeddedVectors.IO.VectorFile.WriteFvecs(cache, centroids, dim);
        }

        var quantizer = CoarseQuantizer.FromCentroids(centroids, nlist, dim, Metric.L2);
        clock.Restart();
        quantizer.BuildGraph();
        Console.WriteLine($"graph build: {clock.Elapsed.TotalSeconds:F1} s (M {CentroidGraph.DefaultM}, efConstruction {CentroidGraph.DefaultEfConstruction})");

        int nq = data.QueryCount;
        bool recall = rows <= data.BaseRows;
        int[] cells = recall ? Assignments(quantizer, vectors, rows, dim) : [];
        int[] efs = (Option(args, "--ef") ?? "0").Split(',').Select(int.Parse).ToArray();
        foreach (int ef in efs)
        foreach (int nprobe in Probes)
        {
            var flatLists = new long[nq * nprobe];
            var graphLists = new long[nq * nprobe];
            var distances = new float[nprobe];
            var graphDistances = new float[nprobe];
            clock.Restart();
            for (int q = 0; q < nq; q++) quantizer.ProbeFlat(data.Query(q), flatLists.AsSpan(q * nprobe, nprobe), distances);
            double flatMicros = clock.Elapsed.TotalMicroseconds / nq;
            long computations = 0;
            int sameDistances = 0;
            clock.Restart();
            for (int q = 0; q < nq; q++)
            {
                quantizer.ProbeGraph(data.Query(q), graphLists.AsSpan(q * nprobe, nprobe), graphDistances, out int c, ef);
                computations += c;
            }
            double graphMicros = clock.Elapsed.TotalMicroseconds / nq;
            long overlap = 0;
            for (int q = 0; q < nq; q++)
            {
                var expected = new HashSet<long>(flatLists.AsSpan(q * nprobe, nprobe).ToArray());
                foreach (long l in graphLists.AsSpan(q * nprobe, nprobe)) if (expected.Contains(l)) overlap++;
                quantizer.ProbeFlat(data.Query(q), flatLists.AsSpan(q * nprobe, nprobe), distances);
                quantizer.ProbeGraph(data.Query(q), graphLists.AsSpan(q * nprobe, nprobe), graphDistances, out _, ef);
                if (flatLists.AsSpan(q * nprobe, nprobe).SequenceEqual(graphLists.AsSpan(q * nprobe, nprobe)) && distances.AsSpan().SequenceEqual(graphDistances)) sameDistances++;
            }
            string line = $"ef {(ef > 0 ? ef.ToString(CultureInfo.InvariantCulture) : "default")} nprobe {nprobe,2}: overlap {(double)overlap / ((long)nq * nprobe):F4}, identical lists and distances {sameDistances}/{nq}, " +
                $"distances a query flat {nlist:N0} graph {(double)computations / nq:N0} ({nlist * (double)nq / computations:F1}x fewer), " +
                $"time a query flat {flatMicros:F0} us graph {graphMicros:F0} us ({flatMicros / graphMicros:F1}x)";
            if (recall) line += $", IVF-Flat recall@10 flat probe {Recall(data, cells, flatLists, nprobe):F4} graph probe {Recall(data, cells, graphLists, nprobe):F4}";
            Console.WriteLine(line);
        }
        return 0;
    }

    /// <summary>Mean squared distance of every row to the centroid k-means assigned it.</summary>
    private static double Objective(float[] vectors, int rows, int dim, KMeansResult result)
    {
        double total = 0;
        for (int i = 0; i < rows; i++)
            total += Kernels.VectorKernels.SquaredL2(vectors.AsSpan(i * dim, dim), result.Centroids.AsSpan(result.Assignments[i] * dim, dim));
        return total / rows;
    }

    private static int[] Assignments(CoarseQuantizer quantizer, float[] vectors, int rows, int dim)
    {
        // Exact (flat) assignment, so the recall compares the centroids rather than graph assignment.
        var exact = CoarseQuantizer.FromCentroids(quantizer.Centroids, quantizer.NList, dim, Metric.L2);
        var cells = new int[rows];
        exact.Assign(vectors, rows, cells);
        return cells;
    }

    /// <summary>The share of each query's true top-10 whose cell is among the probed cells.</summary>
    private static double Recall(Dataset data, int[] cells, long[] probed, int nprobe)
    {
        long hits = 0;
        int nq = data.QueryCount;
        for (int q = 0; q < nq; q++)
        {
            var set = new HashSet<long>(probed.AsSpan(q * nprobe, nprobe).ToArray());
            for (int j = 0; j < 10; j++) if (set.Contains(cells[data.Truth[q * data.TruthWidth + j]])) hits++;
        }
        return (double)hits / (10L * nq);
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
