using System.Text.Json;
using EmbeddedVectors.VectorData;
using Microsoft.Extensions.AI;

namespace EmbeddedVectors.Cluster;

/// <summary>Options of a <see cref="ClusterVectorStore"/>: what every collection it hands out starts with.</summary>
public sealed class ClusterVectorStoreOptions
{
    /// <summary>Shards of a new collection (default 8). Fixed when the collection is created; existing collections keep theirs.</summary>
    public int ShardCount { get; set; } = 8;

    /// <summary>The embedding generator for vector properties that have none of their own.</summary>
    public IEmbeddingGenerator? EmbeddingGenerator { get; set; }

    /// <summary>Index settings of each shard's store (new collections) and search settings (nprobe, re-rank), as in EmbeddedVectors.VectorData.</summary>
    public EmbeddedVectorsIndexSettings Index { get; set; } = new();

    /// <summary>How data properties are serialised into the payload (default: <see cref="JsonSerializerOptions.Default"/>).</summary>
    public JsonSerializerOptions? JsonSerializerOptions { get; set; }
}
