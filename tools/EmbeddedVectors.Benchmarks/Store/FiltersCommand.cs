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
    private readonly Option<string?> _settings = StoreBench.Options.String("settings",
        "Settings to measure instead of the library defaults and the old defaults: ';'-separated, each 'nprobe=N,rerank=R,exact=E,maxprobes=P' (any subset; the rest default).",
        "LIST");
    private readonly Option<string?> _fieldsOut = StoreBench.Options.String("fields-out",
        "Write every row's bucket (int32, little-endian, row order) to this file, for tools/bench/faiss_filters.py.", "FILE");

    public FiltersCommand()
        : base("filters", "filtered search at selectivities 0.01%–100%: hits = min(k, matches), recall@k against the exact filtered top-k, QPS on one thread", withData: true)
    {
        foreach (var option in new Option[] { _dir, _reps, _k, _queries, _settings, _fieldsOut }) Add(option);
    }

    /// <summary>The filters measured: none, then bucket &lt; t for each selectivity.</summary>
    private static readonly (string Name, int Below)[] Selectivities =
        [("none", -1), ("0.01%", 1), ("0.1%", 10), ("1%", 100), ("10%", 1_000), ("50%", 5_000), ("100%", Buckets), ("1%, new each query", NewRangeEachQuery)];

    /// <summary>The selectivity entry whose filter changes with every query (a range of 100 buckets): what a search costs when no segment has its matches cached.</summary>
    private const int NewRangeEachQuery = -2;

    /// <summary>The first bucket of query <paramref name="q"/>'s range for <see cref="NewRangeEachQuery"/>.</summary>
    private static int RangeStart(int q) => q * 97 % (Buckets - 100);

    /// <summary>Whether a row of <paramref name="bucket"/> passes filter <paramref name="below"/> for query <paramref name="q"/>.</summary>
    private static bool Passes(int below, int q, int bucket) => below switch
    {
        -1 => true,
        NewRangeEachQuery => bucket >= RangeStart(q) && bucket < RangeStart(q) + 100,
        _ => bucket < below,
    };

    /// <summary>The options of query <paramref name="q"/> under filter <paramref name="below"/>.</summary>
    private static StoreSearchOptions OptionsOf(StoreSearchOptions setting, int below, int q) => below switch
    {
        -1 => setting,
        NewRangeEachQuery => setting with { Where = Filter.Field("bucket") >= (long)RangeStart(q) & Filter.Field("bucket") < (long)(RangeStart(q) + 100) },
        _ => setting with { Where = Filter.Field("bucket") < below },
    };

    /// <summary>The settings measured by default: the library's defaults, and the defaults before issue 9 was finished (nprobe 16, no re-ranking).</summary>
    private static readonly (string Name, StoreSearchOptions Options)[] DefaultSettings =
        [("library defaults", new StoreSearchOptions()), ("nprobe 16, rerank 0", new StoreSearchOptions { NProbe = 16, Rerank = 0 })];

    /// <summary>Parses <c>--settings</c>: <c>nprobe=48,rerank=200;nprobe=16</c>.</summary>
    private static (string Name, StoreSearchOptions Options)[] ParseSettings(string? text)
    {
        if (text == null) return DefaultSettings;
        var settings = new List<(string, StoreSearchOptions)>();
        foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var options = new StoreSearchOptions();
            foreach (var pair in part.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var kv = pair.Split('=', 2, StringSplitOptions.TrimEntries);
                if (kv.Length != 2 || !int.TryParse(kv[1], out int value) || value < 0)
                    throw new ArgumentException($"--settings: '{pair}' is not name=number (names: nprobe, rerank, exact, maxprobes).");
                options = kv[0] switch
                {
                    "nprobe" => options with { NProbe = value },
                    "rerank" => options with { Rerank = value },
                    "exact" => options with { ExactScanBelow = value },
                    "maxprobes" => options with { MaxProbes = value },
                    _ => throw new ArgumentException($"--settings: unknown name '{kv[0]}' (names: nprobe, rerank, exact, maxprobes)."),
                };
            }
            settings.Add((part, options));
        }
        return [.. settings];
    }

    protected override BenchOutput Execute(ParseResult args)
    {
        int reps = args.GetValue(_reps);
        int k = args.GetValue(_k);
        var data = Dataset.Load(DataDirectory(args), withBase: true, withQueries: true, withTruth: false);
        int queryCount = args.GetValue(_queries) is > 0 and int q ? Math.Min(q, data.QueryCount) : data.QueryCount;
        var buckets = SyntheticFields(data.BaseRows, out var fields);
        var settings = ParseSettings(args.GetValue(_settings));
        if (args.GetValue(_fieldsOut) is { } fieldsOut)
        {
            var bytes = new byte[buckets.Length * sizeof(int)];
            for (int i = 0; i < buckets.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * sizeof(int)), buckets[i]);
            File.WriteAllBytes(fieldsOut, bytes);
        }

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
                "setting", "filter", "selectivity", "matches", "plan", "cells probed", "short queries", "recall@k", "QPS", "QPS min", "QPS max");
            foreach (var (settingName, setting) in settings)
            {
                for (int f = 0; f < Selectivities.Length; f++)
                {
                    var (name, below) = Selectivities[f];
                    var options = Enumerable.Range(0, queryCount).Select(q => OptionsOf(setting, below, q)).ToArray();
                    var matches = Enumerable.Range(0, queryCount).Select(q => (long)buckets.Count(b => Passes(below, q, b))).ToArray();
                    var measured = Measure(store, data, queryCount, k, options, reps, truths[f], matches);
                    var plan = store.Explain(data.Query(0), k, options[0]);
                    string filterText = below switch { -1 => "(none)", NewRangeEachQuery => "b <= bucket < b + 100", _ => $"bucket < {below}" };
                    table.Add(settingName, filterText, name, matches[0], plan.Plan, plan.CellsProbed, measured.Short,
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
                    .Where(i => Passes(below, q, buckets[i]))
                    .OrderBy(i => distances[i]).ThenBy(i => i)
                    .Take(k).Select(i => (long)i).ToArray();
            }
        });
        return truths;
    }

    private sealed record Result(long Short, double Recall, (double Median, double Min, double Max) Qps);

    /// <summary>One untimed pass (checks hits and recall), then <paramref name="reps"/> timed passes on this thread.</summary>
    private static Result Measure(EmbeddedVectorStore store, Dataset data, int queryCount, int k, StoreSearchOptions[] options,
        int reps, long[][] truth, long[] matches)
    {
        var ids = new long[k];
        var distances = new float[k];
        long shortQueries = 0, found = 0, relevant = 0;
        for (int q = 0; q < queryCount; q++)
        {
            int hits = store.Search(data.Query(q), ids, distances, options[q]);
            if (hits != Math.Min(k, matches[q])) shortQueries++;
            var expected = new HashSet<long>(truth[q]);
            relevant += expected.Count;
            for (int i = 0; i < hits; i++) if (expected.Contains(ids[i])) found++;
        }
        var qps = new List<double>();
        for (int r = 0; r < reps; r++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int q = 0; q < queryCount; q++) store.Search(data.Query(q), ids, distances, options[q]);
            qps.Add(queryCount / Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return new Result(shortQueries, relevant == 0 ? 1 : (double)found / relevant, (Stats.Median(qps), qps.Min(), qps.Max()));
    }
}
