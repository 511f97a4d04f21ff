using System.Diagnostics;
using EmbeddedVectors.Indexes;
using EmbeddedVectors.Search;
using EmbeddedVectors.Training;
using Spectre.Console;

namespace EmbeddedVectors.Cli.Commands;

/// <summary><c>ev demo</c>: the main job on the sample shipped in the repository, with recall and speed.</summary>
internal static class DemoCommand
{
    public static int Run(CommandLine args)
    {
        string directory = args.String("data") ?? SampleData.Locate();
        args.RejectUnknown(maxPositionals: 0);
        var (baseVectors, n, dim) = BenchHarness.LoadVectors(Path.Combine(directory, "base.fvecs"), "Base");
        var (queries, queryCount, _) = BenchHarness.LoadVectors(Path.Combine(directory, "query.fvecs"), "Query");
        var (truth, width) = BenchHarness.LoadGroundTruth(Path.Combine(directory, "groundtruth.ivecs"), queryCount, 10);
        AnsiConsole.MarkupLine($"Sample: {n} vectors of {dim} dimensions, {queryCount} queries ({Markup.Escape(directory)})");

        var clock = Stopwatch.StartNew();
        var index = new IvfPqIndex(dim, Metric.L2, new IvfPqOptions { NList = 64, M = 48, KMeans = new KMeansOptions() });
        index.Train(baseVectors);
        index.Add(baseVectors);
        AnsiConsole.MarkupLine($"Built IVFPQ (nlist 64, m 48) in {clock.Elapsed.TotalSeconds:F2} s");

        var table = new Table().AddColumns("nprobe", "rerank", "recall@1", "recall@10", "QPS (1 at a time)");
        foreach (var (nprobe, rerank) in new[] { (4, 0), (8, 0), (8, 50), (16, 100) })
        {
            var parameters = new SearchParameters { NProbe = nprobe, Rerank = rerank };
            var row = BenchHarness.Measure(nprobe, rerank, queries, queryCount, dim, 10, truth, width,
                (query, ids, distances) => index.Search(query, ids, distances, parameters),
                (all, k) => index.SearchBatch(all, k, parameters, 1).Ids);
            table.AddRow($"{nprobe}", $"{rerank}", $"{row.RecallAt1:F3}", $"{row.RecallAt10:F3}", $"{row.Qps:F0}");
        }
        AnsiConsole.Write(table);
        return 0;
    }
}
