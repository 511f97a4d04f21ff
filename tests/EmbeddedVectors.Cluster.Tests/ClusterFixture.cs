using EmbeddedVectors.IO;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace EmbeddedVectors.Cluster.Tests;

/// <summary>
/// Three silos in this process on loopback TCP (Orleans' TestCluster), each hosting shards under its own directory
/// (dataRoot/siloName), as three machines would on their own disks.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private const string DataRootKey = "EmbeddedVectorsTestDataRoot";

    public string DataRoot { get; } = Path.Combine(Path.GetTempPath(), "ev-cluster-" + Guid.NewGuid().ToString("N"));

    public TestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(DataRoot);
        var builder = new TestClusterBuilder(3);
        builder.Properties[DataRootKey] = DataRoot;
        builder.AddSiloBuilderConfigurator<ShardSilo>();
        builder.AddClientBuilderConfigurator<PatientClient>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        try { Directory.Delete(DataRoot, recursive: true); } catch (IOException) { }
    }

    /// <summary>
    /// A shard's first write may train its quantizers, and CI runs this beside the other test assemblies on two
    /// cores: Orleans' default 30 s for a response was seen to run out there. A stopped silo still fails calls at
    /// once (membership knows it), so the failure tests do not wait for this.
    /// </summary>
    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromMinutes(3);

    private sealed class PatientClient : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder)
            => clientBuilder.Configure<ClientMessagingOptions>(options => options.ResponseTimeout = ResponseTimeout);
    }

    private sealed class ShardSilo : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            string root = siloBuilder.Configuration[DataRootKey] ?? throw new InvalidOperationException("no data root");
            siloBuilder.AddEmbeddedVectorsShards();
            siloBuilder.Configure<SiloMessagingOptions>(options => options.ResponseTimeout = ResponseTimeout);
            siloBuilder.Services.AddOptions<EmbeddedVectorsSiloOptions>()
                .Configure<ILocalSiloDetails>((options, silo) => options.DataRoot = Path.Combine(root, silo.Name));
        }
    }
}

/// <summary>The public set, found by walking up from the test binaries; null when absent.</summary>
internal static class PublicSet
{
    public static string? Directory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "data", "debian-minilm-384");
            if (File.Exists(Path.Combine(candidate, "base.fvecs"))) return candidate;
        }
        return null;
    }

    public static (float[] Vectors, float[] Queries, int Dimension) Read(string directory, int rows, int queries)
    {
        var vectors = VectorFile.ReadAllFloats(Path.Combine(directory, "base.fvecs"), out int dimension, rows);
        var query = VectorFile.ReadAllFloats(Path.Combine(directory, "query.fvecs"), out _, queries);
        return (vectors, query, dimension);
    }
}

public static class AsyncList
{
    public static async Task<List<T>> ToListAsync<T>(this IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items) list.Add(item);
        return list;
    }
}
