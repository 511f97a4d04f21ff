using System.CommandLine;
using System.Diagnostics;
using EmbeddedVectors.IO;
using EmbeddedVectors.Search;
using Spectre.Console;

namespace EmbeddedVectors.Cli.Commands;

/// <summary>
/// <c>ev search DIR --queries FILE</c>: searches a store for every query (streamed in batches, each searched with
/// <c>SearchBatch</c>) and writes the ids to an .ivecs, prints them as JSON, or shows the first ones in a table.
/// </summary>
internal sealed class SearchCommand : Command
{
    private const int QueriesPerBatch = 4096;
    private const int TableQueries = 3;
    private const int TableHits = 5;

    private readonly Argument<string?> _directory = EvOptions.StoreDirectory();
    private readonly Option<string?> _queries = EvOptions.Queries();
    private readonly Option<int> _k = EvOptions.K();
    private readonly Option<int> _nprobe = EvOptions.Build.Int("nprobe", "Inverted lists searched a query.", StoreSearchOptions.DefaultNProbe, min: 1);
    private readonly Option<int> _rerank = EvOptions.Build.Int("rerank",
        "Candidates re-ranked with the full vectors (0: none; when not given, the store's default: this one if it keeps its vectors, else 0).",
        StoreSearchOptions.DefaultRerank, min: 0);
    private readonly Option<int> _threads = EvOptions.Build.Int("threads", "Threads (0: all cores).", 0, min: 0);
    private readonly Option<string?> _out = EvOptions.Build.String("out", "Write each query's k ids, nearest first, to this .ivecs (.npy for 64-bit ids).", "results.ivecs");
    private readonly Option<bool> _json = EvOptions.Flag("json", "Print one JSON array a query, one line each, of {\"id\", \"distance\", \"payload\"}.");
    private readonly Option<string?> _where = EvOptions.Build.String("where",
        "Only entries whose fields pass this filter, e.g. \"year >= 2020 and lang == 'en'\" (==, !=, <, <=, >, >=, and, or, not, in (…), is [not] null, contains, contains any (…); id is the entry's id). "
        + "A query gets min(k, matches) hits.", "FILTER");
    private readonly Option<int> _exactBelow = EvOptions.Build.Int("exact-below",
        "With --where: when the filter matches at most this many entries, score them exactly instead of probing cells (0: never).",
        new StoreSearchOptions().ExactScanBelow, min: 0);
    private readonly Option<int> _maxProbes = EvOptions.Build.Int("max-probes",
        "With --where: the most cells probed while fewer than k matches were found (0: every cell, which guarantees min(k, matches) hits).", 0, min: 0, showDefault: false);
    private readonly Option<bool> _explain = EvOptions.Flag("explain", "Print each query's plan and counts (plan, matches, cells probed, candidates) to stderr.");

    public SearchCommand()
        : base("search", "Searches every query. --out writes each query's k ids, nearest first (.ivecs; .npy for 64-bit ids); "
            + "--json prints one JSON array a query, one line each, of {\"id\", \"distance\", \"payload\"}; "
            + "otherwise prints the first queries' hits and the queries per second.")
    {
        Add(_directory);
        foreach (var option in new Option[] { _queries, _k, _nprobe, _rerank, _threads, _out, _json, _where, _exactBelow, _maxProbes, _explain }) Add(option);
        SetAction(Run);
    }

    private int Run(ParseResult args)
    {
        string directory = args.Require(_directory, "the store directory (ev search DIR --queries FILE)");
        string queriesPath = args.GetValue(_queries)!;
        int k = args.GetValue(_k);
        int nprobe = args.GetValue(_nprobe);
        int rerank = args.GetValue(_rerank);
        string? outPath = args.GetValue(_out);
        bool json = args.GetValue(_json);
        int threads = args.GetValue(_threads);
        string? whereText = args.GetValue(_where);
        bool explain = args.GetValue(_explain);

        bool wide = false;
        if (outPath != null)
        {
            string extension = Path.GetExtension(outPath);
            if (extension.Equals(".npy", StringComparison.OrdinalIgnoreCase)) wide = true;
            else if (!extension.Equals(".ivecs", StringComparison.OrdinalIgnoreCase))
                throw new UserErrorException($"--out {outPath}: write the ids to an .ivecs file (or an .npy for 64-bit ids).");
        }

        using var queries = StoreSupport.OpenVectors(queriesPath, "Query file");
        var clock = Stopwatch.StartNew();
        using var store = StoreSupport.Open(directory, readOnly: true);
        double openSeconds = clock.Elapsed.TotalSeconds;
        if (queries.Dimension != store.Dimension)
            throw new UserErrorException($"{queriesPath} holds {queries.Dimension}-dimensional queries but the store at {directory} is {store.Dimension}-dimensional.");
        var info = store.GetInfo();
        if (args.GetResult(_rerank) is null or { Implicit: true }) rerank = info.StoreVectors ? StoreSearchOptions.DefaultRerank : 0;
        if (rerank > 0 && !info.StoreVectors)
            throw new UserErrorException($"--rerank needs the full vectors, but the store at {directory} was created with --no-vectors. Use --rerank 0.");

        var where = whereText == null ? null : FieldSupport.ParseWhere(whereText, store.Fields);
        var options = new StoreSearchOptions
        {
            NProbe = nprobe, Rerank = rerank, Where = where, ExactScanBelow = args.GetValue(_exactBelow), MaxProbes = args.GetValue(_maxProbes),
        };
        int dim = queries.Dimension;
        long total = queries.Count;
        var buffer = new float[(int)Math.Min(QueriesPerBatch, Math.Max(1, total)) * dim];
        var shown = new List<(long Query, long Id, float Distance)>();
        double searchSeconds = 0;
        VectorFileWriter? writer = null;
        bool completed = false;
        try
        {
            if (outPath != null) writer = VectorFileWriter.Create(outPath, k, wide ? VectorElementType.Int64 : VectorElementType.Int32);
            long first = 0;
            while (first < total)
            {
                int n = queries.ReadFloats(buffer);
                if (n == 0) throw new UserErrorException($"{queriesPath} ended after {first:N0} of {total:N0} rows (was it truncated while being read?).");
                clock.Restart();
                BatchSearchResult result = store.SearchBatch(buffer.AsSpan(0, n * dim), k, options, threads);
                searchSeconds += clock.Elapsed.TotalSeconds;
                if (explain) Explain(store, buffer.AsSpan(0, n * dim), k, options, first);
                if (writer != null) WriteIds(writer, result, wide, first, outPath!);
                if (json) PrintJson(store, result);
                for (int q = 0; q < n && first + q < TableQueries; q++)
                    for (int i = 0; i < Math.Min(k, TableHits) && result.Ids[q * k + i] >= 0; i++)
                        shown.Add((first + q, result.Ids[q * k + i], result.Distances[q * k + i]));
                first += n;
            }
            completed = true;
        }
        finally
        {
            writer?.Dispose();
            if (!completed && outPath != null) TryDelete(outPath);
        }

        if (json) return 0;
        if (total > 0 && shown.Count > 0)
        {
            var table = new Table().AddColumns("query", "rank", "id", "distance", "payload");
            long lastQuery = -1;
            int rank = 0;
            foreach (var (query, id, distance) in shown)
            {
                rank = query == lastQuery ? rank + 1 : 1;
                table.AddRow(query == lastQuery ? "" : $"{query}", $"{rank}", $"{id}", $"{distance:G5}",
                    Markup.Escape(StoreSupport.PayloadPreview(store.Get(id)?.Payload)));
                lastQuery = query;
            }
            AnsiConsole.Write(table);
        }
        string settings = $"k {k}, nprobe {nprobe}, rerank {rerank}, threads {(threads == 0 ? "all cores" : threads.ToString(System.Globalization.CultureInfo.InvariantCulture))}"
            + (whereText != null ? $", where {whereText}" : "");
        Console.Out.WriteLine($"Searched {total:N0} queries in {searchSeconds:F3} s: {(total == 0 ? 0 : total / Math.Max(searchSeconds, 1e-9)):N0} queries/s ({settings}; store opened in {openSeconds * 1000:F1} ms, {info.Count:N0} entries).");
        if (outPath != null) Console.Out.WriteLine($"Wrote the ids of each query's {k} hits, nearest first, to {outPath} (-1 where fewer were found).");
        return 0;
    }

    /// <summary>One stderr line a query: the plan the search chose and its counts (so --json and --out stay as they are).</summary>
    private static void Explain(EmbeddedVectorStore store, ReadOnlySpan<float> queries, int k, StoreSearchOptions options, long firstQuery)
    {
        int dim = store.Dimension;
        for (int q = 0; q < queries.Length / dim; q++)
            Console.Error.WriteLine($"explain: query {firstQuery + q}: {store.Explain(queries.Slice(q * dim, dim), k, options)}");
    }

    private static void WriteIds(VectorFileWriter writer, BatchSearchResult result, bool wide, long firstQuery, string path)
    {
        if (wide)
        {
            writer.WriteInt64(result.Ids);
            return;
        }
        var narrow = new int[result.Ids.Length];
        for (int i = 0; i < narrow.Length; i++)
        {
            long id = result.Ids[i];
            if (id is < int.MinValue or > int.MaxValue)
                throw new UserErrorException($"Query {firstQuery + i / result.K} found id {id}, which does not fit the 32-bit ids of {path}. Use --json, or --out with an .npy file (64-bit ids).");
            narrow[i] = (int)id;
        }
        writer.WriteInt32(narrow);
    }

    private static void PrintJson(EmbeddedVectorStore store, BatchSearchResult result)
    {
        int k = result.K;
        for (int q = 0; q < result.QueryCount; q++)
        {
            StoreSupport.PrintJson(w =>
            {
                w.WriteStartArray();
                for (int i = 0; i < k; i++)
                {
                    long id = result.Ids[q * k + i];
                    if (id < 0) break;
                    w.WriteStartObject();
                    w.WriteNumber("id", id);
                    w.WriteNumber("distance", result.Distances[q * k + i]);
                    w.WritePropertyName("payload");
                    StoreSupport.WritePayload(w, store.Get(id)?.Payload);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
