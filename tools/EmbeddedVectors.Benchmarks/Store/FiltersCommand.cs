using System.CommandLine;
using System.Diagnostics;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Search;

namespace EmbeddedVectors.Benchmarks.Store;

/// <summary>
/// <c>store filters</c>: filtered search on the public data set with synthetic fields (see docs/benchmarks-filters.md).
/// Row i gets a uniform <c>bucket</c> 0–9999 (long), a Zipf-distributed <c>category</c> (string, 1,000 values, s = 1),
/// a random <c>day</c> (date, 2020–2024) and 0–3 <c>tags</c> of 32, all from a fixed seed. Filters on <c>bucket</c>
/// select 0.01%, 0.1%, 1%, 10%, 50% and 100% of the entries. For each filter and setting it checks that every query
/// gets min(k, matches) hits, measures recall@k against the exact filtered top-k (brute force over the matching
/// entries, float32) and QPS on one thread (the median of <c>--reps</c> passes over all queries, after a warm-up).
/// </summary>
internal sealed class FiltersCommand : StoreBenchCommand
{
    private const int Buckets = 10_000;
    private const int Categories = 1_000;
    private const int TagCount = 32;

    private readonly Option<string?> _dir = StoreBench.Options.String("dir", "The store to build (or reuse when it exists; default a temporary directory, deleted after).", "DIR");
    private readonly Option<int> _reps = StoreBench.Options.Int("reps", "Timed passes over all queries for each filter and setting.", 5, min: 1);
    private readonly Option<int> _k = StoreBench.K();
    private readonly Option<int> _queries = StoreBench.Options.Int("queries", "Queries used (0: all).", 0, min: 0, showDefault: false);

    public FiltersCommand()
        : base("filters", "filtered search at selectivities 0.01%–100%: hits = min(k, matches), recall@k against the exact filtered top-k, QPS on one thread", withData: true)
    {
        foreach (var option in new Option[] { _dir, _reps, _k, _queries }) Add(option);
    }

    /// <summary>The filters measured: none, then bucket &lt; t for each selectivity.</summary>
    private static readonly (string Name, int Below)[] Selectivities =
        [("none", -1), ("0.01%", 1), ("0.1%", 10), ("1%", 100), ("10%", 1_000), ("50%", 5_000), ("100%", Buckets)];

    /// <summary>The settings measured: the library's defaults, and nprobe 16 with re-ranking of 100.</summary>
    private static readonly (string Name, StoreSearchOptions Options)[] Settings =
        [("default (nprobe 16, rerank 0)", new StoreSearchOptions()), ("nprobe 16, rerank 100", new StoreSearchOptions { NProbe = 16, Rerank = 100 })];

    protected override BenchOutput Execute(ParseResult args)
    {
        int reps = args.GetValue(_reps);
        int k = args.GetValue(_k);
        var data = Dataset.Load(DataDirectory(args), withBase: true, withQueries: true, withTruth: false);
        int queryCount = args.GetValue(_queries) is > 0 and int q ? Math.Min(q, data.QueryCount) : data.QueryCount;
        var buckets = SyntheticFields(data.BaseRows, out var fields);

        string? given = args.GetValue(_dir);
        string directory = given ?? Path.Combine(Path.GetTempPath(), "ev-filters-" + Guid.NewGuid().ToString("N"));
        var output = new BenchOutput("filters");
        output.Parameters["data"] = data.Directory;
        output.Parameters["n"] = data.BaseRows;
        output.Parameters["queries"] = queryCount;
        output.Parameters["k"] = k;
        output.Parameters["reps"] = reps;
        try
        {
            double buildSeconds = EmbeddedVectorStore.Exists(directory) ? 0 : Build(directory, data, fields);
            output.Parameters["build_seconds"] = Math.Round(buildSeconds, 1);
            using var store = EmbeddedVectorStore.Open(directory, new EmbeddedVectorStoreOptions { ReadOnly = true });
            Console.Error.WriteLine("exact filtered top-k (brute force)…");
            var truths = ExactTopK(data, buckets, queryCount, k);
            var table = output.Table($"Filtered search, {queryCount:N0} queries, k {k}, one thread (QPS: median of {reps} passes)",
                "setting", "filter", "selectivity", "matches", "plan", "short queries", "recall@k", "QPS", "QPS min", "QPS max");
            foreach (var (settingName, setting) in Settings)
            {
                for (int f = 0; f < Selectivities.Length; f++)
                {
                    var (name, below) = Selectivities[f];
                    var options = below < 0 ? setting : new StoreSearchOptions
                    {
                        NProbe = setting.NProbe, Rerank = setting.Rerank, Where = Filter.Field("bucket") < below,
                    };
                    long matches = below < 0 ? data.BaseRows : buckets.Count(b => b < below);
                    var measured = Measure(store, data, queryCount, k, options, reps, truths[f], matches);
                    string plan = store.Explain(data.Query(0), k, options).Plan;
                    table.Add(settingName, below < 0 ? "(none)" : $"bucket < {below}", name, matches, plan, measured.Short,
                        measured.Recall, measured.Qps.Median, measured.Qps.Min, measured.Qps.Max);
                    Console.Error.WriteLine($"{settingName}, {name}: recall {measured.Recall:F3}, {measured.Qps.Median:F0} QPS, {measured.Short} short");
                }
            }
        }
        finally
        {
            if (given == null) Directory.Delete(directory, recursive: true);
        }
        return output;
    }

    /// <summary>The fields of every row (fixed seed) and each row's bucket.</summary>
    private static int[] SyntheticFields(int rows, out FieldValues[] fields)
    {
        var random = new Random(20240901);
        // Zipf(s = 1) over 1,000 categories: the cumulative weights, searched with a uniform draw.
        var cumulative = new double[Categories];
        double sum = 0;
        for (int c = 0; c < Categories; c++) cumulative[c] = sum += 1.0 / (c + 1);
        var start = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var buckets = new int[rows];
        fields = new FieldValues[rows];
        for (int i = 0; i < rows; i++)
        {
            buckets[i] = random.Next(Buckets);
            int category = Array.BinarySearch(cumulative, random.NextDouble() * sum);
            if (category < 0) category = ~category;
            var tags = Enumerable.Range(0, random.Next(4)).Select(_ => $"t{random.Next(TagCount)}").Distinct().ToArray();
            fields[i] = new FieldValues()
                .Set("bucket", (long)buckets[i])
                .Set("category", $"c{category}")
                .Set("day", start.AddDays(random.Next(5 * 365)))
                .Set("tags", tags);
        }
        return buckets;
    }

    private static double Build(string directory, Dataset data, FieldValues[] fields)
    {
        Console.Error.WriteLine($"building {directory}…");
        var clock = Stopwatch.StartNew();
        var options = StoreBench.StoreOptions(data.Dimension) with
        {
            Fields = [new("bucket", FieldType.Long), new("category", FieldType.String), new("day", FieldType.Date), new("tags", FieldType.Tags)],
        };
        using var store = EmbeddedVectorStore.Create(directory, options);
        store.Train(data.Base);
        const int batch = 10_000;
        for (int first = 0; first < data.BaseRows; first += batch)
        {
            int count = Math.Min(batch, data.BaseRows - first);
            var ids = Enumerable.Range(first, count).Select(i => (long)i).ToArray();
            store.AddRange(ids, data.Base.AsSpan(first * data.Dimension, count * data.Dimension), null, fields[first..(first + count)]);
            store.Commit();
        }
        store.Flush();
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// For each filter (in <see cref="Selectivities"/> order) and query, the ids of the exact top-k among the
    /// matching rows (fewer when fewer match): one brute-force pass a query, shared by every filter.
    /// </summary>
    private static long[][][] ExactTopK(Dataset data, int[] buckets, int queryCount, int k)
    {
        var truths = Selectivities.Select(_ => new long[queryCount][]).ToArray();
        Parallel.For(0, queryCount, q =>
        {
            var query = data.Query(q);
            var distances = new float[data.BaseRows];
            for (int i = 0; i < data.BaseRows; i++)
                distances[i] = VectorKernels.SquaredL2(query, data.Base.AsSpan(i * data.Dimension, data.Dimension));
            for (int f = 0; f < Selectivities.Length; f++)
            {
                int below = Selectivities[f].Below;
                truths[f][q] = Enumerable.Range(0, data.BaseRows)
                    .Where(i => below < 0 || buckets[i] < below)
                    .OrderBy(i => distances[i]).ThenBy(i => i)
                    .Take(k).Select(i => (long)i).ToArray();
            }
        });
        return truths;
    }

    private sealed record Result(long Short, double Recall, (double Median, double Min, double Max) Qps);

    /// <summary>One untimed pass (checks hits and recall), then <paramref name="reps"/> timed passes on this thread.</summary>
    private static Result Measure(EmbeddedVectorStore store, Dataset data, int queryCount, int k, StoreSearchOptions options,
        int reps, long[][] truth, long matches)
    {
        var ids = new long[k];
        var distances = new float[k];
        long shortQueries = 0, found = 0, relevant = 0;
        for (int q = 0; q < queryCount; q++)
        {
            int hits = store.Search(data.Query(q), ids, distances, options);
            if (hits != Math.Min(k, matches)) shortQueries++;
            var expected = new HashSet<long>(truth[q]);
            relevant += expected.Count;
            for (int i = 0; i < hits; i++) if (expected.Contains(ids[i])) found++;
        }
        var qps = new List<double>();
        for (int r = 0; r < reps; r++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int q = 0; q < queryCount; q++) store.Search(data.Query(q), ids, distances, options);
            qps.Add(queryCount / Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return new Result(shortQueries, relevant == 0 ? 1 : (double)found / relevant, (Stats.Median(qps), qps.Min(), qps.Max()));
    }
}
