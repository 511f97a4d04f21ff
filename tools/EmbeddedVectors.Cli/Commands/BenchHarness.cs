using System.Diagnostics;
using EmbeddedVectors.IO;
using Spectre.Console;

namespace EmbeddedVectors.Cli.Commands;

/// <summary>Single-query search into caller storage; returns the hit count.</summary>
internal delegate int SingleSearch(ReadOnlySpan<float> query, Span<long> ids, Span<float> distances);

/// <summary>Searches all queries at once; returns ids, <c>k</c> a query, −1 where a slot is empty.</summary>
internal delegate long[] BatchSearch(float[] queries, int k);

/// <summary>Loading of benchmark inputs and the timing and recall loop shared by every <c>bench</c> variant.</summary>
internal static class BenchHarness
{
    private const double MinimumTimedSeconds = 0.5;

    public static (float[] Vectors, int Count, int Dimension) LoadVectors(string path, string what, long maxRows = long.MaxValue)
    {
        if (!File.Exists(path)) throw new UserErrorException($"{what} file not found: {path}");
        var vectors = VectorFile.ReadAllFloats(path, out int dimension, maxRows);
        return (vectors, dimension == 0 ? 0 : vectors.Length / dimension, dimension);
    }

    public static (int[] Truth, int Width) LoadGroundTruth(string path, int queryCount, int k)
    {
        if (!File.Exists(path)) throw new UserErrorException($"Ground-truth file not found: {path}");
        var truth = VectorFile.ReadAllInt32(path, out int width);
        if (width == 0 || truth.Length / width < queryCount)
            throw new UserErrorException($"{path} has {(width == 0 ? 0 : truth.Length / width)} rows, fewer than the {queryCount} queries.");
        if (width < Math.Min(k, 10))
            throw new UserErrorException($"{path} holds {width} neighbours a query; recall@10 needs at least {Math.Min(k, 10)}.");
        return (truth, width);
    }

    /// <summary>Recall@1 and recall@10 of row-major results (<paramref name="k"/> a query) against the ground truth.</summary>
    public static (double At1, double At10) Recall(long[] results, int k, int queryCount, int[] truth, int truthWidth)
    {
        int depth = Math.Min(10, Math.Min(k, truthWidth));
        long hitsAt1 = 0, hitsAt10 = 0;
        for (int q = 0; q < queryCount; q++)
        {
            var found = results.AsSpan(q * k, k);
            var expected = truth.AsSpan(q * truthWidth, depth);
            if (found[0] == expected[0]) hitsAt1++;
            for (int i = 0; i < depth; i++)
            {
                if (found[i] < 0) break;
                if (expected.Contains((int)found[i])) hitsAt10++;
            }
        }
        return (hitsAt1 / (double)queryCount, hitsAt10 / (10.0 * queryCount));
    }

    /// <summary>Measures one setting: warm-up, single-query passes for at least half a second, then one timed batch.</summary>
    public static BenchRow Measure(int nprobe, int rerank, float[] queries, int queryCount, int dimension, int k,
        int[] truth, int truthWidth, SingleSearch single, BatchSearch batch)
    {
        var results = new long[queryCount * k];
        Array.Fill(results, -1L);
        var distances = new float[k];
        int warmup = Math.Min(queryCount, 50);
        for (int q = 0; q < warmup; q++) single(queries.AsSpan(q * dimension, dimension), results.AsSpan(q * k, k), distances);

        // The first timed pass also times each query alone (one timestamp a query costs ~20 ns), for the latency
        // percentiles; later passes only lengthen the run to a measurable time.
        var latencies = new long[queryCount];
        long searched = 0;
        var clock = Stopwatch.StartNew();
        long previous = Stopwatch.GetTimestamp();
        for (int q = 0; q < queryCount; q++)
        {
            single(queries.AsSpan(q * dimension, dimension), results.AsSpan(q * k, k), distances);
            long now = Stopwatch.GetTimestamp();
            latencies[q] = now - previous;
            previous = now;
        }
        searched += queryCount;
        while (clock.Elapsed.TotalSeconds < MinimumTimedSeconds)
        {
            for (int q = 0; q < queryCount; q++)
                single(queries.AsSpan(q * dimension, dimension), results.AsSpan(q * k, k), distances);
            searched += queryCount;
        }
        double qps = searched / clock.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        var (at1, at10) = Recall(results, k, queryCount, truth, truthWidth);

        clock.Restart();
        var batchResults = batch(queries, k);
        double batchQps = queryCount / clock.Elapsed.TotalSeconds;
        var (batchAt1, batchAt10) = Recall(batchResults, k, queryCount, truth, truthWidth);
        if (Math.Abs(batchAt10 - at10) > 1e-9 || Math.Abs(batchAt1 - at1) > 1e-9)
            throw new InvalidOperationException($"Batch and single-query searches disagree (recall@10 {batchAt10} vs {at10}).");
        return new BenchRow(nprobe, rerank, at1, at10, qps, batchQps,
            Microseconds(Percentile(latencies, 0.50)), Microseconds(Percentile(latencies, 0.99)), Microseconds(latencies[^1]));
    }

    /// <summary>The value below which <paramref name="fraction"/> of the sorted values lie (nearest rank).</summary>
    private static long Percentile(long[] sorted, double fraction)
        => sorted[Math.Clamp((int)Math.Ceiling(fraction * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static double Microseconds(long ticks) => ticks * 1e6 / Stopwatch.Frequency;

    /// <summary>This process's anonymous resident memory in bytes (RssAnon in /proc/self/status), or null where there is none.</summary>
    public static long? RssAnonBytes()
    {
        const string path = "/proc/self/status";
        if (!OperatingSystem.IsLinux() || !File.Exists(path)) return null;
        foreach (string line in File.ReadLines(path))
        {
            if (!line.StartsWith("RssAnon:", StringComparison.Ordinal)) continue;
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return parts.Length >= 2 && long.TryParse(parts[1], out long kb) ? kb * 1024 : null;
        }
        return null;
    }

    public static void Print(BenchReport report)
    {
        AnsiConsole.MarkupLine($"[bold]{report.Index}[/]  n={report.N}  dim={report.Dim}  metric={report.Metric}  k={report.K}  threads={report.Threads}"
            + (report.Nlist is int nlist ? $"  nlist={nlist}" : "") + (report.M is int m ? $"  m={m}" : ""));
        if (report.OpenSeconds is double open)
            AnsiConsole.MarkupLine($"open {open * 1000:F1} ms"
                + (report.OpenCpuSeconds is double cpu ? $" ({cpu * 1000:F1} ms of CPU, {report.OpenJitSeconds * 1000 ?? 0:F1} ms compiling)" : "")
                + (report.RssAnonBytes is long rss ? $", peak RssAnon {rss / 1048576.0:F0} MiB" : ""));
        else AnsiConsole.MarkupLine($"train {report.TrainSeconds:F2} s, add {report.AddSeconds:F2} s");
        var table = new Table().AddColumns("nprobe", "rerank", "recall@1", "recall@10", "QPS (1 at a time)", "QPS (batch)", "p50 µs", "p99 µs", "max µs");
        foreach (var row in report.Results)
            table.AddRow($"{row.Nprobe}", $"{row.Rerank}", $"{row.RecallAt1:F4}", $"{row.RecallAt10:F4}", $"{row.Qps:F0}", $"{row.BatchQps:F0}",
                $"{row.LatencyP50Us:F0}", $"{row.LatencyP99Us:F0}", $"{row.LatencyMaxUs:F0}");
        AnsiConsole.Write(table);
    }
}
