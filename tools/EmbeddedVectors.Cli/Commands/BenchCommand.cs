using System.Diagnostics;
using EmbeddedVectors.Indexes;
using EmbeddedVectors.Search;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Cli.Commands;

/// <summary><c>ev bench</c>: build an index in memory from vector files and measure recall and speed.</summary>
internal static class BenchCommand
{
    public static int Run(CommandLine args)
    {
        // ev bench DIR …: measure an on-disk store instead of building an index in memory.
        if (args.Positionals.Count > 0) return StoreBenchCommand.Run(args);
        string basePath = args.RequiredString("base");
        string queryPath = args.RequiredString("queries");
        string truthPath = args.RequiredString("gt");
        string kind = (args.String("index") ?? "ivfpq").ToLowerInvariant();
        int nlist = args.Int("nlist", 1024, min: 1);
        int m = args.Int("m", 48, min: 1);
        int[] nprobes = args.IntList("nprobe", [1, 2, 4, 8, 16, 32, 64]);
        int[] reranks = args.IntList("rerank", [0], min: 0);
        int k = args.Int("k", 10, min: 1);
        int threads = args.Int("threads", 1, min: 0);
        long trainSize = args.Long("train-size", long.MaxValue, min: 1);
        long maxBase = args.Long("max-base", long.MaxValue, min: 1);
        string codes = args.String("codes") ?? "pq8";
        int opqRounds = args.Int("opq", 0, min: 0);
        var metric = MetricNames.Parse(args.String("metric") ?? "l2");
        string? jsonPath = args.String("json");
        args.RejectUnknown(maxPositionals: 0);
        bool fastScan = StoreSupport.ParseCodes(codes) == VectorCodes.Pq4FastScan;
        if (fastScan && kind != "ivfpq") throw new UserErrorException("--codes pq4fs goes with --index ivfpq.");

        var (baseVectors, n, dim) = BenchHarness.LoadVectors(basePath, "Base", maxBase);
        var (queries, queryCount, queryDim) = BenchHarness.LoadVectors(queryPath, "Query");
        if (queryDim != dim) throw new UserErrorException($"The queries are {queryDim}-dimensional but the base vectors {dim}-dimensional.");
        if (queryCount == 0 || n == 0) throw new UserErrorException("Need at least one base vector and one query.");
        var (truth, truthWidth) = BenchHarness.LoadGroundTruth(truthPath, queryCount, k);

        var kmeans = new KMeansOptions { Threads = threads };
        VectorIndex index = kind switch
        {
            "flat" => new FlatIndex(dim, metric),
            "ivf" => new IvfFlatIndex(dim, nlist, metric, kmeans),
            "pq" => new PqIndex(dim, m, metric, kmeans),
            "ivfpq" when fastScan => new IvfPqIndex(dim, metric, IvfOptions() with { Codes = VectorCodes.Pq4FastScan }),
            "ivfpq" => new IvfPqIndex(dim, metric, IvfOptions()),
            _ => throw new UserErrorException($"Unknown --index '{kind}'. Use flat, ivf, pq or ivfpq."),
        };

        IvfPqOptions IvfOptions() => new() { NList = nlist, M = m, KMeans = kmeans, StoreVectors = reranks.Any(r => r > 0), OpqIterations = opqRounds };
        var clock = Stopwatch.StartNew();
        int trainCount = (int)Math.Min(trainSize, n);
        index.Train(baseVectors.AsSpan(0, trainCount * dim));
        double trainSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        index.Add(baseVectors);
        double addSeconds = clock.Elapsed.TotalSeconds;

        bool probes = kind is "ivf" or "ivfpq";
        var report = new BenchReport
        {
            Index = kind, N = n, Dim = dim, K = k, Threads = threads, Metric = metric.ToShortName(),
            Nlist = probes ? nlist : null, M = kind is "pq" or "ivfpq" ? m : null,
            Codes = kind is "pq" or "ivfpq" ? codes + (opqRounds > 0 ? "+opq" : "") : null,
            Queries = queryCount, TrainSeconds = trainSeconds, AddSeconds = addSeconds,
        };
        foreach (int rerank in kind == "ivfpq" ? reranks : [0])
        {
            foreach (int nprobe in probes ? nprobes : [0])
            {
                var parameters = new SearchParameters { NProbe = Math.Max(1, nprobe), Rerank = rerank };
                report.Results.Add(BenchHarness.Measure(nprobe, rerank, queries, queryCount, dim, k, truth, truthWidth,
                    (query, ids, distances) => index.Search(query, ids, distances, parameters),
                    (all, kk) => index.SearchBatch(all, kk, parameters, threads).Ids));
            }
        }
        BenchHarness.Print(report);
        if (jsonPath != null) report.WriteJson(jsonPath);
        return 0;
    }
}
