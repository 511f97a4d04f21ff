using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using Cloud.Unum.USearch;
using EmbeddedVectors.IO;

namespace EmbeddedVectors.Benchmarks.Compare;

/// <summary>
/// Side by side, one query at a time on one thread: USearch (HNSW over float32 vectors held in RAM, what a .NET
/// developer would pick today) against our on-disk store with exact re-ranking from its memory-mapped vectors.
/// </summary>
/// <remarks>
/// Usage: <c>usearch [--data DIR] [--work DIR] [--json FILE]</c>. DIR holds base.fvecs, query.fvecs and
/// groundtruth.ivecs (default ../shared/data/debian-minilm-384).
/// </remarks>
internal static partial class UsearchComparison
{
    private const int K = 10;

    public static int Run(string[] args)
    {
        string data = Option(args, "--data") ?? Path.Combine("..", "shared", "data", "debian-minilm-384");
        string work = Option(args, "--work") ?? Path.Combine(Path.GetTempPath(), "ev-usearch-compare");
        string? json = Option(args, "--json");
        var baseVectors = VectorFile.ReadAllFloats(Path.Combine(data, "base.fvecs"), out int dim);
        var queries = VectorFile.ReadAllFloats(Path.Combine(data, "query.fvecs"), out _);
        var truth = VectorFile.ReadAllInt32(Path.Combine(data, "groundtruth.ivecs"), out int truthWidth);
        int n = baseVectors.Length / dim, nq = queries.Length / dim;
        var rows = new List<Row>();

        Console.WriteLine($"USearch {typeof(USearchIndex).Assembly.GetName().Version}: HNSW, L2sq, float32, connectivity 16, expansion_add 128");
        var clock = Stopwatch.StartNew();
        using (var hnsw = new USearchIndex(MetricKind.L2sq, ScalarKind.Float32, (ulong)dim, 16, 128, 64))
        {
            for (int i = 0; i < n; i++) hnsw.Add((ulong)i, baseVectors.AsSpan(i * dim, dim).ToArray());
            Console.WriteLine($"  built in {clock.Elapsed.TotalSeconds:F1} s");
            var queryArrays = Enumerable.Range(0, nq).Select(q => queries.AsSpan(q * dim, dim).ToArray()).ToArray();
            foreach (int expansion in new[] { 16, 32, 64, 128 })
            {
                ChangeExpansionSearch(hnsw, expansion);
                var found = new long[nq * K];
                double qps = Measure(nq, q =>
                {
                    hnsw.Search(queryArrays[q], K, out ulong[] keys, out _);
                    for (int i = 0; i < K; i++) found[q * K + i] = i < keys.Length ? (long)keys[i] : -1;
                });
                rows.Add(new Row("usearch-hnsw", $"expansion_search={expansion}", Recall(found, truth, truthWidth, nq), qps));
                Print(rows[^1]);
            }
        }

        var configurations = new (string Name, EmbeddedVectorStoreOptions Options, (int NProbe, int Rerank)[] Settings)[]
        {
            ("embeddedvectors-pq8", new() { Dimension = dim, NList = 1024, Codes = VectorCodes.Pq8 }, [(8, 100), (16, 100), (16, 200), (32, 200), (64, 300)]),
            ("embeddedvectors-pq4fs", new() { Dimension = dim, NList = 1024, Codes = VectorCodes.Pq4FastScan }, [(8, 100), (16, 100), (16, 200), (32, 200), (64, 300)]),
            // Fewer, larger cells suit high recall: fewer cells to probe for the same coverage, and fast-scan makes the longer lists cheap.
            ("embeddedvectors-pq4fs-opq-nlist256", new() { Dimension = dim, NList = 256, Codes = VectorCodes.Pq4FastScan, Opq = true, OpqIterations = 10 },
                [(16, 50), (32, 50), (32, 100), (48, 50), (48, 100), (64, 100)]),
        };
        foreach (var (name, options, settings) in configurations)
        {
            string directory = Path.Combine(work, name);
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
            clock.Restart();
            using (var build = EmbeddedVectorStore.Create(directory, options))
            {
                build.Train(baseVectors);
                build.AddRange(Enumerable.Range(0, n).Select(i => (long)i).ToArray(), baseVectors);
            }
            Console.WriteLine($"EmbeddedVectors store {name} built in {clock.Elapsed.TotalSeconds:F1} s");
            using var store = EmbeddedVectorStore.Open(directory, new EmbeddedVectorStoreOptions { ReadOnly = true });
            foreach (var (nprobe, rerank) in settings)
            {
                var search = new StoreSearchOptions { NProbe = nprobe, Rerank = rerank };
                var found = new long[nq * K];
                var distances = new float[K];
                double qps = Measure(nq, q => store.Search(queries.AsSpan(q * dim, dim), found.AsSpan(q * K, K), distances, search));
                rows.Add(new Row(name, $"nprobe={nprobe},rerank={rerank}", Recall(found, truth, truthWidth, nq), qps));
                Print(rows[^1]);
            }
        }
        if (json != null) File.WriteAllText(json, JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
        return 0;
    }

    private sealed record Row(string Engine, string Setting, double RecallAt10, double Qps);

    private static void Print(Row row) => Console.WriteLine($"  {row.Engine,-24} {row.Setting,-24} recall@10 {row.RecallAt10:F4}  {row.Qps,8:F0} QPS");

    /// <summary>Warm-up, then passes over every query until a second has passed; queries per second.</summary>
    private static double Measure(int queryCount, Action<int> search)
    {
        for (int q = 0; q < queryCount; q++) search(q); // a whole pass: the first settings must not be measured before the JIT has settled
        long done = 0;
        var clock = Stopwatch.StartNew();
        do
        {
            for (int q = 0; q < queryCount; q++) search(q);
            done += queryCount;
        }
        while (clock.Elapsed.TotalSeconds < 1.0);
        return done / clock.Elapsed.TotalSeconds;
    }

    private static double Recall(long[] found, int[] truth, int width, int queryCount)
    {
        long hits = 0;
        for (int q = 0; q < queryCount; q++)
        {
            var expected = truth.AsSpan(q * width, K);
            foreach (long id in found.AsSpan(q * K, K)) if (id >= 0 && expected.Contains((int)id)) hits++;
        }
        return hits / (double)(queryCount * K);
    }

    /// <summary>The C# binding has no setter for expansion_search; the C API does.</summary>
    private static void ChangeExpansionSearch(USearchIndex index, int expansion)
    {
        var handle = (IntPtr)typeof(USearchIndex).GetField("_index", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(index)!;
        NativeChangeExpansionSearch(handle, (UIntPtr)expansion, out IntPtr error);
        if (error != IntPtr.Zero) throw new InvalidOperationException($"usearch_change_expansion_search failed: {Marshal.PtrToStringAnsi(error)}");
    }

    [LibraryImport("libusearch_c", EntryPoint = "usearch_change_expansion_search")]
    private static partial void NativeChangeExpansionSearch(IntPtr index, UIntPtr expansion, out IntPtr error);

    private static string? Option(string[] args, string name)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }
}
