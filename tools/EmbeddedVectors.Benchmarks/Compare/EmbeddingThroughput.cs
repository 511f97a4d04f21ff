using System.Diagnostics;
using System.Globalization;
using EmbeddedVectors.Embeddings;

namespace EmbeddedVectors.Benchmarks.Compare;

/// <summary>
/// Text embedding throughput (docs/benchmarks-embeddings.md):
/// <c>embed [--text FILE] [--threads 1,0] [--batch 32] [--limit N] [--rounds 2]</c> embeds the documents of a text
/// file (one a line; a TSV line's text after its first tab) with <see cref="MiniLmEmbeddingGenerator"/> on each thread
/// count (0: all cores) and prints the model's load time and documents per second of the best round.
/// </summary>
internal static class EmbeddingThroughput
{
    public static int Run(string[] args)
    {
        string path = Option(args, "--text") ?? "samples/debian-text-2k/packages.tsv";
        int[] threadCounts = (Option(args, "--threads") ?? "1,0").Split(',').Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToArray();
        int batch = int.Parse(Option(args, "--batch") ?? "32", CultureInfo.InvariantCulture);
        int limit = int.Parse(Option(args, "--limit") ?? "0", CultureInfo.InvariantCulture);
        int rounds = int.Parse(Option(args, "--rounds") ?? "2", CultureInfo.InvariantCulture);
        var texts = File.ReadLines(path).Where(l => !string.IsNullOrWhiteSpace(l)).Select(l => l.Contains('\t', StringComparison.Ordinal) ? l[(l.IndexOf('\t', StringComparison.Ordinal) + 1)..] : l);
        var documents = (limit > 0 ? texts.Take(limit) : texts).ToArray();
        double meanChars = documents.Average(d => d.Length);
        Console.WriteLine($"{Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Trim()}; {documents.Length:N0} documents of {meanChars:F0} characters on average from {path}; batch {batch}");
        var vectors = new float[documents.Length * MiniLmEmbeddingGenerator.Dimension];
        foreach (int threads in threadCounts)
        {
            var clock = Stopwatch.StartNew();
            using var generator = new MiniLmEmbeddingGenerator(new MiniLmEmbeddingOptions { Threads = threads, BatchSize = batch });
            double loadSeconds = clock.Elapsed.TotalSeconds;
            double best = double.MaxValue, bestCpu = double.MaxValue;
            using var process = Process.GetCurrentProcess();
            for (int round = 0; round < rounds; round++)
            {
                process.Refresh();
                var cpuBefore = process.TotalProcessorTime;
                clock.Restart();
                generator.Embed(documents, vectors);
                best = Math.Min(best, clock.Elapsed.TotalSeconds);
                process.Refresh();
                bestCpu = Math.Min(bestCpu, (process.TotalProcessorTime - cpuBefore).TotalSeconds);
            }
            // CPU time does not grow when other processes take the cores, so documents per CPU-second is what one
            // idle core would do (with threads 1) even on a loaded machine; wall-clock figures are what this run got.
            Console.WriteLine($"threads {generator.Threads}: model loaded in {loadSeconds:F2} s; {documents.Length / best:F1} documents/s wall clock "
                + $"({1000 * best / documents.Length:F2} ms a document), {documents.Length / bestCpu:F1} documents per CPU-second; best of {rounds}");
        }
        return 0;
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
