using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Spectre.Console;

namespace EmbeddedVectors.Cli.Commands;

/// <summary>
/// <c>ev demo</c>: the main job on the sample shipped in the repository. Creates an on-disk store, adds the
/// vectors with their payloads, commits, closes and reopens it, then prints recall and speed at a few settings,
/// the nearest packages to the first query, and the store's size on disk.
/// </summary>
internal sealed class DemoCommand : Command
{
    private const int NList = 64;
    private const int M = 48;

    private readonly Option<string?> _data = EvOptions.Build.String("data", "The sample directory (default samples/debian-minilm-384-5k, found from here upwards).", "DIR");
    private readonly Option<string?> _keep = EvOptions.Build.String("keep", "Build the store in this new or empty directory and keep it.", "DIR");

    public DemoCommand()
        : base("demo", "Builds an on-disk store from the sample shipped in samples/, reopens it and prints recall and speed "
            + "(in a temporary directory, deleted afterwards unless --keep DIR is given).")
    {
        Add(_data);
        Add(_keep);
        SetAction(Run);
    }

    private int Run(ParseResult args)
    {
        string data = args.GetValue(_data) ?? SampleData.Locate();
        string? keep = args.GetValue(_keep);

        var (baseVectors, n, dim) = BenchHarness.LoadVectors(Path.Combine(data, "base.fvecs"), "Base");
        var (queries, queryCount, queryDim) = BenchHarness.LoadVectors(Path.Combine(data, "query.fvecs"), "Query");
        if (queryDim != dim) throw new UserErrorException($"The sample's queries are {queryDim}-dimensional but its base vectors {dim}-dimensional.");
        var (truth, width) = BenchHarness.LoadGroundTruth(Path.Combine(data, "groundtruth.ivecs"), queryCount, 10);
        var payloads = ReadPayloads(Path.Combine(data, "payloads.jsonl"), n);
        AnsiConsole.MarkupLine($"Sample: {n:N0} vectors of {dim} dimensions with JSON payloads, {queryCount} queries ([grey]{Markup.Escape(data)}[/])");

        if (keep != null && (File.Exists(keep) || (Directory.Exists(keep) && Directory.EnumerateFileSystemEntries(keep).Any())))
            throw new UserErrorException($"--keep {keep}: give a new or empty directory for the demo's store.");
        string directory = keep ?? Path.Combine(Path.GetTempPath(), "ev-demo-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            Build(directory, baseVectors, n, dim, payloads);
            Explore(directory, queries, queryCount, dim, truth, width);
        }
        finally
        {
            if (keep == null) TryDeleteDirectory(directory);
        }
        AnsiConsole.MarkupLine(keep == null
            ? "The temporary store was deleted. Keep one with [bold]ev demo --keep DIR[/], then try [bold]ev info DIR[/] and [bold]ev search DIR --queries FILE[/]."
            : $"The store is kept in {Markup.Escape(Path.GetFullPath(keep))}: try [bold]ev info[/], [bold]ev search[/] or [bold]ev get[/] on it.");
        return 0;
    }

    private static void Build(string directory, float[] baseVectors, int n, int dim, byte[][] payloads)
    {
        var clock = Stopwatch.StartNew();
        using (var store = EmbeddedVectorStore.Create(directory, new EmbeddedVectorStoreOptions { Dimension = dim, Metric = Metric.L2, NList = NList, M = M }))
        {
            store.Train(baseVectors);
            double trainSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            var ids = new long[n];
            for (int i = 0; i < n; i++) ids[i] = i;
            store.AddRange(ids, baseVectors, payloads);
            store.Commit();
            double addSeconds = clock.Elapsed.TotalSeconds;
            AnsiConsole.MarkupLine($"Created a store in [grey]{Markup.Escape(directory)}[/] (IVFPQ, nlist {NList}, m {M}, full vectors kept for re-ranking)");
            AnsiConsole.MarkupLine($"  trained on the {n:N0} vectors in {trainSeconds:F2} s; added them with their payloads and committed in {addSeconds:F2} s");
            clock.Restart();
        }
        AnsiConsole.MarkupLine($"  closed (write buffer sealed into a segment) in {clock.Elapsed.TotalMilliseconds:F0} ms");
    }

    private static void Explore(string directory, float[] queries, int queryCount, int dim, int[] truth, int width)
    {
        var clock = Stopwatch.StartNew();
        using var store = EmbeddedVectorStore.Open(directory, new EmbeddedVectorStoreOptions { ReadOnly = true });
        double openMs = clock.Elapsed.TotalMilliseconds;
        var info = store.GetInfo();
        AnsiConsole.MarkupLine($"Reopened in {openMs:F1} ms: {info.Count:N0} entries in {info.Segments} segment{(info.Segments == 1 ? "" : "s")}");

        AnsiConsole.MarkupLine($"Searching the {queryCount} queries, k = 10, one at a time on one thread:");
        var table = new Table().AddColumns("nprobe", "rerank", "recall@1", "recall@10", "QPS");
        foreach (int rerank in new[] { 0, 50, 100 })
        {
            foreach (int nprobe in new[] { 4, 8, 16 })
            {
                var options = new StoreSearchOptions { NProbe = nprobe, Rerank = rerank };
                var row = BenchHarness.Measure(nprobe, rerank, queries, queryCount, dim, 10, truth, width,
                    (query, ids, distances) => store.Search(query, ids, distances, options),
                    (all, k) => store.SearchBatch(all, k, options, 1).Ids);
                table.AddRow($"{nprobe}", $"{rerank}", $"{row.RecallAt1:F3}", $"{row.RecallAt10:F3}", $"{row.Qps:N0}");
            }
        }
        AnsiConsole.Write(table);

        var hits = store.Search(queries.AsSpan(0, dim), 3, new StoreSearchOptions { NProbe = 16, Rerank = 100 });
        AnsiConsole.MarkupLine("Nearest packages to the first query (nprobe 16, rerank 100), from their payloads:");
        for (int i = 0; i < hits.Count; i++)
        {
            var (package, text) = Describe(hits[i].Payload);
            AnsiConsole.MarkupLine($"  {i + 1}. [bold]{Markup.Escape(package)}[/] (id {hits[i].Id}, distance {hits[i].Distance:F3}) [grey]{Markup.Escape(text)}[/]");
        }
        var part = info.BytesPerEntry;
        AnsiConsole.MarkupLine($"Size on disk: {Markup.Escape(StoreSupport.Bytes(info.BytesOnDisk))}, {info.BytesOnDisk / (double)Math.Max(1, info.Count):N0} bytes a vector:");
        AnsiConsole.MarkupLine($"  codes {part.Codes:F0} ({M}-byte codes and list directories), {info.Rows} rows {part.Rows:F0}, ids {part.Ids:F0}, "
            + $"payloads {part.Payloads:F0} (in the segments), log {part.Log:F0} (the write-ahead log: its open 32 MiB file is given back a file at a time "
            + $"once its entries are sealed), quantizers and manifest {part.Other:F0} bytes a vector");
    }

    private static (string Package, string Text) Describe(byte[]? payload)
    {
        if (payload == null) return ("(deleted)", "");
        try
        {
            using var document = JsonDocument.Parse(payload);
            var root = document.RootElement;
            string package = root.TryGetProperty("package", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : "?";
            string text = root.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
            int colon = text.IndexOf(": ", StringComparison.Ordinal);
            if (colon >= 0 && text.StartsWith(package, StringComparison.Ordinal)) text = text[(colon + 2)..];
            return (package, text.Length <= 70 ? text : text[..69] + "…");
        }
        catch (JsonException)
        {
            return ("?", StoreSupport.PayloadPreview(payload, 70));
        }
    }

    private static byte[][] ReadPayloads(string path, int count)
    {
        if (!File.Exists(path)) throw new UserErrorException($"Payload file not found: {path}");
        var payloads = new byte[count][];
        using var reader = new LineReader(path);
        for (int i = 0; i < count; i++)
            payloads[i] = reader.ReadLine() ?? throw new UserErrorException($"{path} has {i} lines, fewer than the {count} base vectors.");
        return payloads;
    }

    private static void TryDeleteDirectory(string directory)
    {
        try
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"ev: could not delete the demo's temporary store {directory}: {e.Message}");
        }
    }
}
