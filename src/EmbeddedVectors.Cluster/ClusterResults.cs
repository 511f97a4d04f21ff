using Microsoft.Extensions.VectorData;

namespace EmbeddedVectors.Cluster;

/// <summary>The hits of <see cref="ClusterCollection{TKey, TRecord}.SearchAllowingPartialAsync"/>, and the shards that did not answer.</summary>
/// <typeparam name="TRecord">The record type.</typeparam>
/// <param name="Results">The merged hits of the shards that answered, nearest first.</param>
/// <param name="UnavailableShards">The shards that did not answer (empty when every shard did).</param>
public sealed record ClusterSearchResults<TRecord>(IReadOnlyList<VectorSearchResult<TRecord>> Results, IReadOnlyList<int> UnavailableShards)
    where TRecord : class
{
    /// <summary>Whether some shards did not answer, so hits they hold are missing.</summary>
    public bool IsPartial => UnavailableShards.Count > 0;
}

/// <summary>An operation on a clustered collection failed because some of its shards did not answer (their silo is down, or the call failed).</summary>
public sealed class ShardsUnavailableException : VectorStoreException
{
    /// <summary>An exception naming the shards.</summary>
    /// <param name="message">The operation, the shards and their silos, and the first shard's error.</param>
    /// <param name="inner">The first shard's error.</param>
    /// <param name="unavailableShards">The shards that did not answer.</param>
    public ShardsUnavailableException(string message, Exception? inner, IReadOnlyList<int> unavailableShards) : base(message, inner)
        => UnavailableShards = unavailableShards;

    /// <summary>The shards that did not answer.</summary>
    public IReadOnlyList<int> UnavailableShards { get; }
}
