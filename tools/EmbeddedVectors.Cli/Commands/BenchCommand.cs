using System.CommandLine;
using System.Diagnostics;
using EmbeddedVectors.Indexes;
using EmbeddedVectors.Search;
using EmbeddedVectors.Tools;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Cli.Commands;

/// <summary>What both kinds of <c>ev bench</c> measure with: the queries, the ground truth and the settings to try.</summary>
internal sealed record BenchSettings(string Queries, string Truth, int[] NProbes, int[] Reranks, int K, int Threads, string? Json, bool? ReadAhead = null);

/// <summary>
/// <c>ev bench</c>: build an index in memory from vector files and measure recall and speed; with a store directory,
/// measure that store instead (<see cref="StoreBenchCommand"/>).
/// </summary>
internal sealed class BenchCommand : Command
{
    private readonly Argument<string?> _directory = EvOptions.StoreDirectory();
    private readonly Option<string?> _queries = EvOptions.Queries();
    private readonly Option<string?> _truth = EvOptions.GroundTruth();
    private readonly Option<int[]> _nprobes = EvOptions.NProbes();
    private readonly Option<int[]> _reranks = EvOptions.Reranks();
    private readonly Option<int> _k = EvOptions.K();
    private readonly Option<int> _threads = EvOptions.BenchThreads();
    private readonly Option<string?> _json = EvOptions.BenchJson();
    // In memory only (without DIR):
    private readonly Option<string?> _base = EvOptions.Build.String("base", "In memory: the vectors to index (required without DIR).", "B.fvecs");
    private readonly Option<string?> _index = EvOptions.Build.String("index", "In memory: the index kind (default ivfpq).", "flat|ivf|pq|ivfpq");
    private readonly Option<int> _nlist = EvOptions.NList();
    private readonly Option<int> _m = EvOptions.Build.Int("m", "In memory: PQ sub-quantizers.", 48, min: 1);
    private readonly Option<string?> _codes = EvOptions.Codes();
    private readonly Option<int> _opq = EvOptions.Build.Int("opq", "In memory: rounds of OPQ rotation training (0: no OPQ).", 0, min: 0, helpName: "ROUNDS");
    private readonly Option<string?> _metric = EvOptions.Metric();
    private readonly Option<long> _trainSize = EvOptions.Build.Long("train-size", "In memory: train on the first N base vectors (default all).", 0, min: 1, showDefault: false);
    private readonly Option<long> _maxBase = EvOptions.Build.Long("max-base", "In memory: read at most N base vectors (default all).", 0, min: 1, showDefault: false);
    private readonly Option<string?> _readAhead = EvOptions.Build.String("read-ahead",
        "With DIR: advise the OS of the pages a search will read (auto: when reads are seen waiting on the disk; default auto).", "auto|on|off");

    public BenchCommand()
        : base("bench", "With DIR: measures a store (ids must be the ground truth's row numbers): open time, recall@1, recall@10 and queries per second "
            + "for each nprobe and rerank. With --base instead: builds an index in memory and prints recall@1, recall@10 and queries per second "
            + "(one query at a time, and as a batch) for each nprobe, with training and add times.")
    {
        Add(_directory);
        foreach (var option in new Option[] { _queries, _truth, _nprobes, _reranks, _k, _threads, _json,
            _base, _index, _nlist, _m, _codes, _opq, _metric, _trainSize, _maxBase, _readAhead }) Add(option);
        SetAction(Run);
    }

    private int Run(ParseResult args)
    {
        var settings = new BenchSettings(args.GetValue(_queries)!, args.GetValue(_truth)!, args.GetValue(_nprobes)!, args.GetValue(_reranks)!,
            args.GetValue(_k), args.GetValue(_threads), args.GetValue(_json), ReadAhead(args.GetValue(_readAhead)));
        // ev bench DIR …: measure an on-disk store instead of building an index in memory.
        if (args.GetValue(_directory) is { } directory)
        {
            foreach (var option in new Option[] { _base, _index, _nlist, _m, _codes, _opq, _metric, _trainSize, _maxBase })
                if (args.Given(option)) throw new UserErrorException($"Unknown option {option.Name}. Run 'ev help' for the options of each command.");
            return StoreBenchCommand.Run(directory, settings);
        }
        if (args.Given(_readAhead)) throw new UserErrorException("--read-ahead applies to a store (ev bench DIR ...), not to an index built in memory.");
        string basePath = args.GetValue(_base) ?? throw new UserErrorException("Missing required option --base.");
        var (queryPath, truthPath, nprobes, reranks, k, threads, jsonPath, _) = settings;
        string kind = (args.GetValue(_index) ?? "ivfpq").ToLowerInvariant();
        int nlist = args.GetValue(_nlist);
        int m = args.GetValue(_m);
        long trainSize = args.GetValue(_trainSize) is > 0 and long train ? train : long.MaxValue;
        long maxBase = args.GetValue(_maxBase) is > 0 and long most ? most : long.MaxValue;
        string codes = args.GetValue(_codes) ?? "pq8";
        int opqRounds = args.GetValue(_opq);
        var metric = MetricNames.Parse(args.GetValue(_metric) ?? "l2");
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

    private static bool? ReadAhead(string? value) => value switch
    {
        null or "auto" => null,
        "on" => true,
        "off" => false,
        _ => throw new UserErrorException($"Unknown --read-ahead value '{value}': use auto, on or off."),
    };
}
