using System.Diagnostics;
using EmbeddedVectors;
using EmbeddedVectors.IO;
using EmbeddedVectors.VectorData;
using Microsoft.Extensions.VectorData;

// Usage: EmbeddedVectors.VectorData.Bench DATA_DIR [--nprobe 16,32,64] [--rerank 100] [--batch 1000] [--rounds 3] [--seconds 1]
// DATA_DIR holds base.fvecs, query.fvecs and groundtruth.ivecs (shared/data/debian-minilm-384).
if (args.Length < 1) { Console.Error.WriteLine("usage: DATA_DIR [--nprobe 16,32,64] [--rerank 100] [--batch 1000] [--rounds 3] [--seconds 1]"); return 2; }
string data = args[0];
int[] nprobes = Option("--nprobe", "16,32,64").Split(',').Select(int.Parse).ToArray();
int rerank = int.Parse(Option("--rerank", "100"));
int batch = int.Parse(Option("--batch", "1000"));
int rounds = int.Parse(Option("--rounds", "3"));
double seconds = double.Parse(Option("--seconds", "1"), System.Globalization.CultureInfo.InvariantCulture);

var vectors = VectorFile.ReadAllFloats(Path.Combine(data, "base.fvecs"), out int dimension);
var queries = VectorFile.ReadAllFloats(Path.Combine(data, "query.fvecs"), out _);
var truth = VectorFile.ReadAllInt32(Path.Combine(data, "groundtruth.ivecs"), out int width);
int count = vectors.Length / dimension, queryCount = queries.Length / dimension;
const int K = 10;
string root = Path.Combine(Path.GetTempPath(), "ev-vectordata-bench-" + Guid.NewGuid().ToString("N"));
Console.WriteLine($"{count} x {dimension}, {queryCount} queries, batch {batch}, {Environment.ProcessorCount} cpus");

try
{
    // Upsert throughput: through the connector, then the same entries (vectors, JSON payloads, one field) straight into a store.
    var records = Enumerable.Range(0, count).Select(i => new Passage
    {
        Id = i, Bucket = i % 10, Title = $"passage {i}", Weight = i * 0.5,
        Vector = new ReadOnlyMemory<float>(vectors, i * dimension, dimension),
    }).ToList();
    var settings = new EmbeddedVectorsIndexSettings { Rerank = rerank };
    var clock = Stopwatch.StartNew();
    using (var passages = new EmbeddedVectorsCollection<long, Passage>(root, "passages", new() { Index = settings }))
    {
        await passages.EnsureCollectionExistsAsync();
        var inner = (EmbeddedVectorStore)passages.GetService(typeof(EmbeddedVectorStore))!;
        var (trained, trainedTime) = (0, TimeSpan.Zero);
        for (int start = 0; start < count; start += batch)
        {
            var before = clock.Elapsed;
            bool wasTrained = inner.IsTrained;
            await passages.UpsertAsync(records.GetRange(start, Math.Min(batch, count - start)));
            if (wasTrained) (trained, trainedTime) = (trained + Math.Min(batch, count - start), trainedTime + clock.Elapsed - before);
        }
        Console.WriteLine($"upsert connector: {count / clock.Elapsed.TotalSeconds:F0} records/s ({clock.Elapsed.TotalSeconds:F1} s, training included); into the trained collection {trained / trainedTime.TotalSeconds:F0} records/s");
    }
    clock.Restart();
    var payload = System.Text.Encoding.UTF8.GetBytes("{\"d\":{\"Bucket\":3,\"Title\":\"passage 12345\",\"Weight\":6172.5}}");
    using (var direct = EmbeddedVectorStore.Create(Path.Combine(root, "direct"), new EmbeddedVectorStoreOptions
    {
        Dimension = dimension, Metric = Metric.L2, M = dimension / 8, Rows = RowEncoding.Float32, Fields = [new FieldDefinition("Bucket", FieldType.Long)],
    }))
    {
        var (trained, trainedTime) = (0, TimeSpan.Zero);
        for (int start = 0; start < count; start += batch)
        {
            int n = Math.Min(batch, count - start);
            var before = clock.Elapsed;
            bool wasTrained = direct.IsTrained;
            var ids = Enumerable.Range(start, n).Select(i => (long)i).ToArray();
            direct.AddRange(ids, vectors.AsSpan(start * dimension, n * dimension), Enumerable.Repeat(payload, n).ToList(),
                ids.Select(i => (FieldValues?)new FieldValues().Set("Bucket", i % 10)).ToList());
            await direct.CommitAsync();
            if (wasTrained) (trained, trainedTime) = (trained + n, trainedTime + clock.Elapsed - before);
        }
        Console.WriteLine($"upsert store:     {count / clock.Elapsed.TotalSeconds:F0} records/s ({clock.Elapsed.TotalSeconds:F1} s, training included); into the trained store {trained / trainedTime.TotalSeconds:F0} records/s");
    }

    if (args.Contains("--profile"))
    {
        // Where a hit's time goes: the store's Get (payload and vector read) and the record decoding.
        using var passages = new EmbeddedVectorsCollection<long, Passage>(root, "passages", new() { Index = settings });
        var store = (EmbeddedVectorStore)passages.GetService(typeof(EmbeddedVectorStore))!;
        var hitIds = Enumerable.Range(0, queryCount).SelectMany(q => store.Search(Query(q), K, new StoreSearchOptions { NProbe = 16 }).Select(h => h.Id)).ToArray();
        for (int round = 0; round < 3; round++)
        {
            var watch = Stopwatch.StartNew();
            long bytes = 0;
            foreach (long id in hitIds) bytes += store.Get(id)!.Payload.Length;
            double getMicros = watch.Elapsed.TotalMicroseconds / hitIds.Length;
            watch.Restart();
            foreach (long id in hitIds) bytes += passages.GetAsync(id).GetAwaiter().GetResult()!.Title.Length;
            double collectionGetMicros = watch.Elapsed.TotalMicroseconds / hitIds.Length;
            Console.WriteLine($"per hit: store Get {getMicros:F2} µs, collection GetAsync {collectionGetMicros:F2} µs ({bytes})");
        }
    }

    // Search: the connector's SearchAsync (IncludeVectors = false, so records come back with their 3 data fields)
    // against EmbeddedVectorStore.Search on the very same open store and settings, one thread, A/B alternated.
    Console.WriteLine("| nprobe | rerank | recall@10 connector | recall@10 store | QPS connector | QPS store | QPS store + payload | connector / store | connector / (store + payload) |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
    foreach (int nprobe in nprobes)
    {
        using var passages = new EmbeddedVectorsCollection<long, Passage>(root, "passages", new() { Index = settings with { NProbe = nprobe } });
        var store = (EmbeddedVectorStore)passages.GetService(typeof(EmbeddedVectorStore))!;
        var options = new StoreSearchOptions { NProbe = nprobe, Rerank = Math.Max(rerank, 10 * K) };
        double connectorRecall = Recall(q => ConnectorIds(passages, q));
        double storeRecall = Recall(q => store.Search(Query(q), K, options).Select(h => h.Id).ToArray());
        var ratios = new List<double>();
        var ratiosPayload = new List<double>();
        var connectorQps = new List<double>();
        var storeQps = new List<double>();
        var payloadQps = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            double a = Qps(q => ConnectorIds(passages, q));
            double b = Qps(q => store.Search(Query(q), K, options).Count);
            double c = Qps(q => { long n = 0; foreach (var hit in store.Search(Query(q), K, options)) n += hit.Payload!.Length; return n; });
            connectorQps.Add(a); storeQps.Add(b); payloadQps.Add(c);
            ratios.Add(a / b); ratiosPayload.Add(a / c);
        }
        Console.WriteLine($"| {nprobe} | {options.Rerank} | {connectorRecall:F4} | {storeRecall:F4} | {Median(connectorQps):F0} | {Median(storeQps):F0} | {Median(payloadQps):F0} | **{Median(ratios):F2}** ({ratios.Min():F2}–{ratios.Max():F2}) | {Median(ratiosPayload):F2} |");
    }
}
finally
{
    try { Directory.Delete(root, recursive: true); } catch (IOException) { }
}
return 0;

string Option(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

ReadOnlySpan<float> Query(int q) => queries.AsSpan(q * dimension, dimension);

long[] ConnectorIds(EmbeddedVectorsCollection<long, Passage> passages, int q)
{
    var results = new List<long>(K);
    var enumerator = passages.SearchAsync(new ReadOnlyMemory<float>(queries, q * dimension, dimension), K).GetAsyncEnumerator();
    // The connector completes synchronously: no await is needed to drain it.
    while (enumerator.MoveNextAsync().AsTask().GetAwaiter().GetResult()) results.Add(enumerator.Current.Record.Id);
    return [.. results];
}

double Recall(Func<int, long[]> search)
{
    long hits = 0;
    for (int q = 0; q < queryCount; q++)
    {
        var expected = truth.AsSpan(q * width, K).ToArray();
        hits += search(q).Count(id => Array.IndexOf(expected, (int)id) >= 0);
    }
    return hits / (double)(queryCount * K);
}

double Qps<T>(Func<int, T> search)
{
    int done = 0;
    var watch = Stopwatch.StartNew();
    while (watch.Elapsed.TotalSeconds < seconds)
        for (int q = 0; q < queryCount; q++, done++) search(q);
    return done / watch.Elapsed.TotalSeconds;
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted[sorted.Count / 2];
}

/// <summary>A record of 3 data fields (one indexed) and its vector.</summary>
public sealed class Passage
{
    [VectorStoreKey] public long Id { get; set; }
    [VectorStoreData(IsIndexed = true)] public int Bucket { get; set; }
    [VectorStoreData] public string Title { get; set; } = "";
    [VectorStoreData] public double Weight { get; set; }
    [VectorStoreVector(384, DistanceFunction = DistanceFunction.EuclideanSquaredDistance)] public ReadOnlyMemory<float> Vector { get; set; }
}
