namespace EmbeddedVectors.Benchmarks.Store;

/// <summary>
/// <c>store &lt;subcommand&gt; [options]</c>: plain Stopwatch benchmarks of the on-disk store (no BenchmarkDotNet),
/// each printing small tables and optionally writing them to <c>--json FILE</c>. See docs/benchmarks-store.md.
/// </summary>
internal static class StoreBench
{
    public const string Usage = """
        usage: dotnet run -c Release --project tools/EmbeddedVectors.Benchmarks -- store <subcommand> [options]

          build  --out DIR --scale N [--batch 10000] [--sigma 0.01] [--force]
                 builds a store of N vectors from the public base (rows past 60,629 perturbed), trained on the base
          open   --dir DIR[,DIR2...] [--reps 20] [--gc-before]
                 times Open + Dispose, read-only and writable, after one warm-up (several stores: interleaved)
          rss    --dir DIR [--read-only] [--queries 1000,10000] [--nprobe 16] [--rerank 100]
                 RssAnon / RssFile after open and after single queries
          cold   --dir DIR [--read-only] [--first 10] [--next 1000] [--nprobe 16] [--rerank 100]
                 evicts the store's files from the page cache, then times open and the first queries
          append [--work DIR] [--commit-every 1000,100000] [--batch 1000] [--payload-bytes 100]
                 append throughput of the 60,629 base vectors into a fresh trained store
          grow   [--work DIR] [--first 40000] [--nprobe 8,16,32] [--rerank 0,100] [--min-seconds 1] [--rounds 3] [--keep]
                 QPS and recall@10 of a store grown by appends against one built at once

        common: --data DIR (default /work/shared/data/debian-minilm-384), --json FILE, --k 10
        """;

    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.Out.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            var options = new BenchArgs(args[1..]);
            Func<BenchArgs, BenchOutput> command = args[0] switch
            {
                "build" => BuildCommand.Run,
                "open" => OpenCommand.Run,
                "rss" => RssCommand.Run,
                "cold" => ColdCommand.Run,
                "append" => AppendCommand.Run,
                "grow" => GrowCommand.Run,
                _ => throw new UsageException($"Unknown subcommand '{args[0]}'."),
            };
            string? json = options.String("json");
            var output = command(options);
            output.Finish(json);
            return 0;
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }
    }

    /// <summary>Options every subcommand shares: where the data is.</summary>
    public static string DataDirectory(BenchArgs args) => args.String("data") ?? Dataset.DefaultDirectory;

    /// <summary>The store's shape for every benchmark: L2, nlist 1024, m 48, full vectors kept, seal at 65,536.</summary>
    public static EmbeddedVectorStoreOptions StoreOptions(int dimension) => new()
    {
        Dimension = dimension,
        Metric = Metric.L2,
        NList = 1024,
        M = 48,
        StoreVectors = true,
        SealThreshold = 65_536,
    };
}
