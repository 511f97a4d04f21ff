using System.Diagnostics;
using System.Net;
using EmbeddedVectors;
using EmbeddedVectors.Cluster;
using EmbeddedVectors.IO;
using EmbeddedVectors.VectorData;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.VectorData;

// vectors-cluster silo   --name A --silo-port 11111 --gateway-port 30000 [--primary-port 11111] --data DIR
// vectors-cluster client --gateways 30000,30001,30002 [--rows N] [--queries Q] [--data-set DIR]
// vectors-cluster bench  [--rows N] [--queries Q] [--data-set DIR] [--data DIR] [--nlist L --nprobe P --threshold T]
var options = Options.Parse(args.Skip(1));
return args.FirstOrDefault() switch
{
    "silo" => await RunSilo(options),
    "client" => await RunClient(options),
    "bench" => await Bench(options),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage:
          vectors-cluster silo   --name NAME --silo-port P --gateway-port G [--primary-port P0] --data DIR
          vectors-cluster client --gateways G1,G2,... [--rows N] [--queries Q] [--data-set DIR]
          vectors-cluster bench  [--rows N] [--queries Q] [--data-set DIR] [--data DIR] [--nlist L --nprobe P --threshold T]
        A silo keeps its shards under DIR; give every silo a stable name (shards are placed by it) and the first
        silo's port as --primary-port (localhost clustering, for development). The data set is a directory with
        base.fvecs and query.fvecs (default: the bundled 5,000-row sample).
        """);
    return 2;
}

static IHost Silo(string name, int siloPort, int gatewayPort, int primaryPort, string data) => Host.CreateDefaultBuilder()
    .ConfigureLogging(logging => logging.ClearProviders().AddConsole().SetMinimumLevel(LogLevel.Error))
    .UseOrleans(silo => silo
        .UseLocalhostClustering(siloPort, gatewayPort, new IPEndPoint(IPAddress.Loopback, primaryPort))
        .Configure<Orleans.Configuration.SiloOptions>(o => o.SiloName = name)
        .AddEmbeddedVectorsShards(data))
    .Build();

static IHost Client(int[] gateways) => Host.CreateDefaultBuilder()
    .ConfigureLogging(logging => logging.ClearProviders().AddConsole().SetMinimumLevel(LogLevel.Error))
    .UseOrleansClient(client => client.UseLocalhostClustering(gateways))
    .Build();

static async Task<int> RunSilo(Options options)
{
    int siloPort = options.Int("silo-port", 11111);
    using var host = Silo(options.Text("name", "silo-a"), siloPort, options.Int("gateway-port", 30000),
        options.Int("primary-port", siloPort), options.Text("data", "cluster-data"));
    await host.RunAsync();
    return 0;
}

static async Task<int> RunClient(Options options)
{
    int[] gateways = [.. options.Text("gateways", "30000").Split(',').Select(int.Parse)];
    using var host = Client(gateways);
    await host.StartAsync();
    var (vectors, queries, dimension) = DataSet.Read(options);
    var store = new ClusterVectorStore(host.Services.GetRequiredService<IClusterClient>());
    var passages = store.GetCollection<long, Passage>("passages");
    await passages.EnsureCollectionExistsAsync();
    await DataSet.Upsert(passages, vectors, dimension);
    var query = new ReadOnlyMemory<float>(queries, 0, dimension);
    await foreach (var hit in passages.SearchAsync(query, top: 5, new() { Filter = p => p.Bucket < 5 }))
        Console.WriteLine($"{hit.Record.Id,6} {hit.Score:F4} bucket {hit.Record.Bucket}");
    await host.StopAsync();
    return 0;
}

// 3 silos and a client in this process (loopback TCP) against one in-process store, same rows and settings.
static async Task<int> Bench(Options options)
{
    string data = options.Text("data", Path.Combine(Path.GetTempPath(), "vectors-cluster-bench-" + Guid.NewGuid().ToString("N")));
    var (vectors, queries, dimension) = DataSet.Read(options);
    int queryCount = queries.Length / dimension;
    // Recall against the set's exact ground truth, when it has one and every row was loaded.
    string truthFile = Path.Combine(options.Text("data-set", ""), "groundtruth.ivecs");
    int truthWidth = 0;
    int[]? truth = options.Int("rows", int.MaxValue) == int.MaxValue && File.Exists(truthFile)
        ? VectorFile.ReadAllInt32(truthFile, out truthWidth, queryCount) : null;
    var silos = new List<IHost>();
    for (int i = 0; i < 3; i++)
    {
        var silo = Silo($"bench-{i}", 21111 + i, 31000 + i, 21111, Path.Combine(data, $"bench-{i}"));
        await silo.StartAsync();
        silos.Add(silo);
    }
    using var client = Client([31000, 31001, 31002]);
    await client.StartAsync();
    try
    {
        // The same index settings for the one store and every shard (defaults: the connector's).
        var defaults = new EmbeddedVectorsIndexSettings();
        var index = defaults with
        {
            NList = options.Int("nlist", defaults.NList),
            NProbe = options.Int("nprobe", defaults.NProbe),
            TrainingThreshold = options.Int("threshold", defaults.TrainingThreshold),
        };
        var cluster = new ClusterVectorStore(client.Services.GetRequiredService<IClusterClient>(), new ClusterVectorStoreOptions { Index = index })
            .GetCollection<long, Passage>("bench");
        await cluster.EnsureCollectionExistsAsync();
        var load = Stopwatch.StartNew();
        await DataSet.Upsert(cluster, vectors, dimension);
        Console.WriteLine($"cluster upsert: {vectors.Length / dimension} rows in {load.Elapsed.TotalSeconds:F1} s");

        using var single = new EmbeddedVectorsVectorStore(Path.Combine(data, "single"), new EmbeddedVectorsVectorStoreOptions { Index = index });
        var local = single.GetCollection<long, Passage>("bench");
        await local.EnsureCollectionExistsAsync();
        load.Restart();
        await DataSet.Upsert(local, vectors, dimension);
        Console.WriteLine($"single upsert: {vectors.Length / dimension} rows in {load.Elapsed.TotalSeconds:F1} s");

        foreach (var (name, collection) in new (string, VectorStoreCollection<long, Passage>)[] { ("one store", local), ("cluster 3 silos, 8 shards", cluster) })
        {
            for (int q = 0; q < Math.Min(50, queryCount); q++) await Search(collection, queries, q, dimension); // warm-up
            var latencies = new double[queryCount];
            var all = Stopwatch.StartNew();
            for (int q = 0; q < queryCount; q++)
            {
                long start = Stopwatch.GetTimestamp();
                await Search(collection, queries, q, dimension);
                latencies[q] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            double sequential = queryCount / all.Elapsed.TotalSeconds;
            all.Restart();
            await Parallel.ForAsync(0, queryCount, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (q, _) => await Search(collection, queries, q, dimension));
            double concurrent = queryCount / all.Elapsed.TotalSeconds;
            Array.Sort(latencies);
            string recall = truth == null ? "" : $", recall@10 {await Recall(collection, queries, dimension, truth, truthWidth):F4}";
            Console.WriteLine($"{name}: p50 {latencies[queryCount / 2]:F2} ms, p99 {latencies[(int)(queryCount * 0.99)]:F2} ms, " +
                $"QPS {sequential:F0} one at a time, {concurrent:F0} with 8 in flight ({queryCount} queries, top 10){recall}");
        }
    }
    finally
    {
        await client.StopAsync();
        foreach (var silo in silos) { await silo.StopAsync(); silo.Dispose(); }
        try { Directory.Delete(data, recursive: true); } catch (IOException) { }
    }
    return 0;
}

static async Task<double> Recall(VectorStoreCollection<long, Passage> collection, float[] queries, int dimension, int[] truth, int width)
{
    int queryCount = queries.Length / dimension;
    long hits = 0;
    for (int q = 0; q < queryCount; q++)
    {
        var exact = new HashSet<long>();
        for (int j = 0; j < 10; j++) exact.Add(truth[q * width + j]);
        await foreach (var hit in collection.SearchAsync(new ReadOnlyMemory<float>(queries, q * dimension, dimension), top: 10))
            if (exact.Contains(hit.Record.Id)) hits++;
    }
    return hits / (10.0 * queryCount);
}

static async Task Search(VectorStoreCollection<long, Passage> collection, float[] queries, int q, int dimension)
{
    await foreach (var _ in collection.SearchAsync(new ReadOnlyMemory<float>(queries, q * dimension, dimension), top: 10)) { }
}

/// <summary>A passage of the data set: its row number, a bucket to filter on, its vector.</summary>
public sealed class Passage
{
    [VectorStoreKey] public long Id { get; set; }
    [VectorStoreData(IsIndexed = true)] public int Bucket { get; set; }
    [VectorStoreVector(384, DistanceFunction = DistanceFunction.EuclideanSquaredDistance)] public ReadOnlyMemory<float> Vector { get; set; }
}

internal static class DataSet
{
    public static (float[] Vectors, float[] Queries, int Dimension) Read(Options options)
    {
        string directory = options.Text("data-set", Path.Combine(AppContext.BaseDirectory, "debian-minilm-384-5k"));
        var vectors = VectorFile.ReadAllFloats(Path.Combine(directory, "base.fvecs"), out int dimension, options.Int("rows", int.MaxValue));
        var queries = VectorFile.ReadAllFloats(Path.Combine(directory, "query.fvecs"), out _, options.Int("queries", 500));
        return (vectors, queries, dimension);
    }

    public static async Task Upsert(VectorStoreCollection<long, Passage> collection, float[] vectors, int dimension)
    {
        int rows = vectors.Length / dimension;
        for (int start = 0; start < rows; start += 2048)
            await collection.UpsertAsync(Enumerable.Range(start, Math.Min(2048, rows - start)).Select(i => new Passage
            {
                Id = i, Bucket = i % 10, Vector = new ReadOnlyMemory<float>(vectors, i * dimension, dimension),
            }).ToList());
    }
}

/// <summary>--name value pairs.</summary>
internal sealed class Options(Dictionary<string, string> values)
{
    public static Options Parse(IEnumerable<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        string? name = null;
        foreach (var arg in args)
        {
            if (arg.StartsWith("--", StringComparison.Ordinal)) name = arg[2..];
            else if (name != null) { values[name] = arg; name = null; }
            else throw new ArgumentException($"'{arg}' follows no --option.");
        }
        return new Options(values);
    }

    public string Text(string name, string fallback) => values.GetValueOrDefault(name, fallback);

    public int Int(string name, int fallback) => values.TryGetValue(name, out var text) ? int.Parse(text) : fallback;
}
