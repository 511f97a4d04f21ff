using System.Diagnostics;

namespace EmbeddedVectors.Cli.Commands;

/// <summary>
/// <c>ev bench DIR --queries Q --gt G</c>: measures an on-disk store (opened read-only) as <c>ev bench</c> measures
/// an in-memory index: recall@1, recall@10 and queries per second for each (nprobe, rerank), plus the open time.
/// The ground truth's row numbers are compared with the store's ids, as <c>ev add</c> numbers rows by default.
/// </summary>
internal static class StoreBenchCommand
{
    public static int Run(string directory, BenchSettings settings)
    {
        var (queryPath, truthPath, nprobes, reranks, k, threads, jsonPath, _) = settings;

        StoreSupport.RequireStore(directory);
        var (queries, queryCount, queryDim) = BenchHarness.LoadVectors(queryPath, "Query");
        if (queryCount == 0) throw new UserErrorException($"{queryPath} holds no queries.");
        var (truth, truthWidth) = BenchHarness.LoadGroundTruth(truthPath, queryCount, k);

        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var jitBefore = System.Runtime.JitInfo.GetCompilationTime(currentThread: true);
        var clock = Stopwatch.StartNew();
        using var store = StoreSupport.Open(directory, readOnly: true, settings.ReadAhead);
        double openSeconds = clock.Elapsed.TotalSeconds;
        double openCpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        double openJitSeconds = (System.Runtime.JitInfo.GetCompilationTime(currentThread: true) - jitBefore).TotalSeconds;
        var info = store.GetInfo();
        if (queryDim != info.Dimension)
            throw new UserErrorException($"The queries are {queryDim}-dimensional but the store at {directory} is {info.Dimension}-dimensional.");
        if (info.Count == 0) throw new UserErrorException($"The store at {directory} is empty; add vectors with 'ev add' first.");
        if (reranks.Any(r => r > 0) && !info.StoreVectors)
            throw new UserErrorException($"--rerank needs the full vectors, but the store at {directory} was created with --no-vectors. Use --rerank 0.");

        var report = new BenchReport
        {
            Index = "store", N = info.Count, Dim = info.Dimension, K = k, Threads = threads, Metric = info.Metric.ToShortName(),
            Nlist = info.NList, M = info.M, Codes = info.Codes, Queries = queryCount, OpenSeconds = openSeconds,
            OpenCpuSeconds = openCpuSeconds, OpenJitSeconds = openJitSeconds,
            RssAnonBytes = BenchHarness.RssAnonBytes(),
        };
        foreach (int rerank in reranks)
        {
            foreach (int nprobe in nprobes)
            {
                var options = new StoreSearchOptions { NProbe = nprobe, Rerank = rerank };
                report.Results.Add(BenchHarness.Measure(nprobe, rerank, queries, queryCount, info.Dimension, k, truth, truthWidth,
                    (query, ids, distances) => store.Search(query, ids, distances, options),
                    (all, kk) => store.SearchBatch(all, kk, options, threads).Ids));
                // Peak over the run, sampled after each setting (the kernel keeps no peak of RssAnon alone).
                if (BenchHarness.RssAnonBytes() is long rss && rss > (report.RssAnonBytes ?? 0)) report.RssAnonBytes = rss;
            }
        }
        BenchHarness.Print(report);
        if (!info.Trained) Console.Out.WriteLine("Note: the store is not trained yet, so every search above was exact (nprobe and rerank had no effect).");
        if (jsonPath != null) report.WriteJson(jsonPath);
        return 0;
    }
}
