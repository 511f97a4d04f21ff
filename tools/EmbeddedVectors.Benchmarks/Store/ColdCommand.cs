using System.CommandLine;
using System.Diagnostics;
using EmbeddedVectors.Tools;

namespace EmbeddedVectors.Benchmarks.Store;

/// <summary>
/// <c>store cold --dir DIR</c>: evicts the store's files (only those) from the page cache, then times the open and
/// the first <c>--first</c> single queries one by one, then the next <c>--next</c> queries (median and tail), and
/// finally the same queries again warm for reference. Unless <c>--no-jit-warmup</c>, the store is first opened and
/// searched 20 times (the last 20 queries) before the eviction, so the figures are I/O rather than JIT. mincore shows how much of the store was resident at each step.
/// </summary>
internal sealed class ColdCommand : StoreBenchCommand
{
    private readonly Option<string?> _dir = StoreBench.Dir();
    private readonly Option<bool> _readOnly = StoreBench.ReadOnly();
    private readonly Option<int> _first = StoreBench.Options.Int("first", "Cold queries timed one by one.", 10, min: 1);
    private readonly Option<int> _next = StoreBench.Options.Int("next", "Queries timed after them (median and tail).", 1_000, min: 1);
    private readonly Option<int> _nprobe = StoreBench.NProbe();
    private readonly Option<int> _rerank = StoreBench.Rerank();
    private readonly Option<int> _k = StoreBench.K();
    private readonly Option<bool> _noJitWarmup = OptionBuilder.Flag("no-jit-warmup", "Skip the warm-up open and searches before the eviction.");

    public ColdCommand()
        : base("cold", "evicts the store's files from the page cache, then times open and the first queries", withData: true)
    {
        foreach (var option in new Option[] { _dir, _readOnly, _first, _next, _nprobe, _rerank, _k, _noJitWarmup }) Add(option);
    }

    protected override BenchOutput Execute(ParseResult args)
    {
        string directory = Path.GetFullPath(args.GetValue(_dir)!);
        bool readOnly = args.GetValue(_readOnly);
        int first = args.GetValue(_first);
        int next = args.GetValue(_next);
        int nprobe = args.GetValue(_nprobe);
        int rerank = args.GetValue(_rerank);
        int k = args.GetValue(_k);
        bool jitWarmup = !args.GetValue(_noJitWarmup);
        var data = Dataset.Load(DataDirectory(args), withBase: false, withQueries: true, withTruth: false);

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
