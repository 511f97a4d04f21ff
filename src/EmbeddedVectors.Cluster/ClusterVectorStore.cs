using System.Runtime.CompilerServices;
using Microsoft.Extensions.VectorData;
using Orleans.Runtime;

namespace EmbeddedVectors.Cluster;

/// <summary>
/// A <see cref="VectorStore"/> over an Orleans cluster whose silos host EmbeddedVectors shards
/// (<see cref="EmbeddedVectorsSiloBuilderExtensions.AddEmbeddedVectorsShards"/>): the same record mapping, filters, keys
/// and scores as <c>EmbeddedVectorsVectorStore</c>, with each collection's entries spread over its shards.
/// </summary>
public sealed class ClusterVectorStore : VectorStore
{
    /// <summary>The name reported as <see cref="VectorStoreMetadata.VectorStoreSystemName"/>.</summary>
    public const string SystemName = "embeddedvectors-cluster";

    private readonly IClusterClient _client;
    private readonly ClusterVectorStoreOptions _options;
    private readonly VectorStoreMetadata _metadata = new() { VectorStoreSystemName = SystemName };

    /// <summary>A vector store over <paramref name="client"/>.</summary>
    /// <param name="client">A connected Orleans client (or a silo's own <see cref="IClusterClient"/>).</param>
    /// <param name="options">Shard count, embedding generator, index and serialisation defaults; null for the defaults.</param>
    public ClusterVectorStore(IClusterClient client, ClusterVectorStoreOptions? options = null)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _options = options ?? new ClusterVectorStoreOptions();
    }

    /// <inheritdoc />
    public override ClusterCollection<TKey, TRecord> GetCollection<TKey, TRecord>(string name, VectorStoreCollectionDefinition? definition = null)
        => new(_client, name, definition, _options);

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">Always: dynamic collections are not clustered yet.</exception>
    public override VectorStoreCollection<object, Dictionary<string, object?>> GetDynamicCollection(string name, VectorStoreCollectionDefinition definition)
        => throw new NotSupportedException("Dynamic (dictionary) collections are not supported by ClusterVectorStore yet.");

    /// <inheritdoc />
    public override async IAsyncEnumerable<string> ListCollectionNamesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var hosts = await _client.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: true).ConfigureAwait(false);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var host in hosts)
            names.UnionWith(await _client.GetGrain<ISiloCatalogGrain>(ShardPlacement.CatalogKey(host.SiloName)).List().ConfigureAwait(false));
        foreach (var name in names)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return name;
        }
    }

    /// <inheritdoc />
    public override Task<bool> CollectionExistsAsync(string name, CancellationToken cancellationToken = default)
        => GetCollection<long, Probe>(name).CollectionExistsAsync(cancellationToken);

    /// <inheritdoc />
    public override Task EnsureCollectionDeletedAsync(string name, CancellationToken cancellationToken = default)
        => GetCollection<long, Probe>(name).EnsureCollectionDeletedAsync(cancellationToken);

    /// <inheritdoc />
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey != null) return null;
        if (serviceType == typeof(VectorStoreMetadata)) return _metadata;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>A record type for collection-level operations that read no records (existence, deletion).</summary>
    private sealed class Probe
    {
        [VectorStoreKey] public long Id { get; set; }
        [VectorStoreVector(1)] public float[] Vector { get; set; } = [];
    }
}
