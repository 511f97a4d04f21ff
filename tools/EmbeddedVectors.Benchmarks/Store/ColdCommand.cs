using System.Diagnostics;

namespace EmbeddedVectors.Benchmarks.Store;

/// <summary>
/// <c>store cold --dir DIR</c>: evicts the store's files (only those) from the page cache, then times the open and
/// the first <c>--first</c> single queries one by one, then the next <c>--next</c> queries (median and tail), and
/// finally the same queries again warm for reference. Unless <c>--no-jit-warmup</c>, the store is first opened and
/// searched 20 times (the last 20 queries) before the eviction, so the figures are I/O rather than JIT. mincore shows how much of the store was resident at each step.
/// </summary>
internal static class ColdCommand
{
    public static BenchOutput Run(BenchArgs args)
    {
        string directory = Path.GetFullPath(args.Required("dir"));
        bool readOnly = args.Flag("read-only");
        int first = args.Int("first", 10, min: 1);
        int next = args.Int("next", 1_000, min: 1);
        int nprobe = args.Int("nprobe", 16, min: 1);
        int rerank = args.Int("rerank", 100, min: 0);
        int k = args.Int("k", 10, min: 1);
        bool jitWarmup = !args.Flag("no-jit-warmup");
        var data = Dataset.Load(StoreBench.DataDirectory(args), withBase: false, withQueries: true, withTruth: false);
        args.RejectUnknown();

        var output = new BenchOutput("cold");
        output.Parameters["dir"] = directory;
        output.Parameters["mode"] = readOnly ? "read-only" : "writable";
        output.Parameters["nprobe"] = nprobe;
        output.Parameters["rerank"] = rerank;
        output.Parameters["k"] = k;
        output.Parameters["jit_warmup"] = jitWarmup;
        var options = new StoreSearchOptions { NProbe = nprobe, Rerank = rerank };
        if (jitWarmup)
        {
            // Compile open and search before the cold start, so the figures below are I/O, not JIT.
            using var warm = EmbeddedVectorStore.Open(directory, new EmbeddedVectorStoreOptions { ReadOnly = readOnly });
            QueryRunner.Latencies(warm, data, data.QueryCount - 20, 20, k, options);
        }
        var resident = output.Table("Store files in the page cache (MB)", "point", "resident MB", "of MB", "codes", "vectors", "log", "other");
        long storeBytes = StoreFiles.TotalBytes(directory);
        void Resident(string point)
        {
            var byKind = StoreFiles.All(directory).GroupBy(StoreFiles.Kind).ToDictionary(g => g.Key, g => g.Sum(PageCache.ResidentBytes) / 1048576.0);
            double Of(string prefix) => byKind.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(p => p.Value);
            resident.Add(point, byKind.Values.Sum(), storeBytes / 1048576.0, Of("segment codes"), Of("segment vectors"), Of("log"), Of("other"));
        }

        Resident("before eviction");
        var (files, bytes) = PageCache.Evict(directory);
        output.Parameters["evicted_files"] = files;
        output.Parameters["evicted_bytes"] = bytes;
        Resident("after eviction");

        long start = Stopwatch.GetTimestamp();
        using var store = EmbeddedVectorStore.Open(directory, new EmbeddedVectorStoreOptions { ReadOnly = readOnly });
        double openMs = Stats.Ms(Stopwatch.GetTimestamp() - start);
        output.Parameters["count"] = store.Count;
        Resident("after open");

        double[] firstLatencies = QueryRunner.Latencies(store, data, 0, first, k, options);
        Resident($"after {first} queries");
        double[] nextLatencies = QueryRunner.Latencies(store, data, first, next, k, options);
        Resident($"after {first + next:N0} queries");
        double[] warmLatencies = QueryRunner.Latencies(store, data, first, next, k, options);

        var timeline = output.Table("Cold open and first queries (ms)", "step", "ms");
        timeline.Add("open (cold)", openMs);
        for (int i = 0; i < first; i++) timeline.Add($"query {i + 1}", firstLatencies[i]);

        var summary = output.Table($"Query latency (ms), queries {first + 1}..{first + next} after the cold start, then the same again warm",
            "phase", "median", "p90", "p99", "max", "mean", "total s");
        summary.Add($"first {first} (cold)", Stats.Median(firstLatencies), Stats.Percentile(firstLatencies, 90), Stats.Percentile(firstLatencies, 99),
            firstLatencies.Max(), firstLatencies.Average(), firstLatencies.Sum() / 1000);
        summary.Add($"next {next:N0}", Stats.Median(nextLatencies), Stats.Percentile(nextLatencies, 90), Stats.Percentile(nextLatencies, 99),
            nextLatencies.Max(), nextLatencies.Average(), nextLatencies.Sum() / 1000);
        summary.Add($"same {next:N0} again (warm)", Stats.Median(warmLatencies), Stats.Percentile(warmLatencies, 90), Stats.Percentile(warmLatencies, 99),
            warmLatencies.Max(), warmLatencies.Average(), warmLatencies.Sum() / 1000);
        return output;
    }
}
