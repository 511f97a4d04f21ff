using Orleans.Concurrency;

namespace EmbeddedVectors.Cluster;

/// <summary>
/// One shard of a collection: an <c>EmbeddedVectorStore</c> in <c>dataRoot/collection/shard-N</c> on the silo named
/// by the grain key. Writes are serialised (the grain is not re-entrant); reads interleave with everything, since a
/// store search runs on its own snapshot.
/// </summary>
internal interface IShardGrain : IGrainWithStringKey
{
    /// <summary>Creates the shard's store (or checks the existing one against <paramref name="shape"/>); true when it was created.</summary>
    Task<bool> Create(CollectionLayout layout, ShardStoreShape shape);

    /// <summary>Whether this silo holds the shard's files.</summary>
    [AlwaysInterleave]
    Task<bool> Exists();

    /// <summary>Closes and deletes the shard's files.</summary>
    Task Drop();

    /// <summary>Adds or replaces entries and commits them.</summary>
    Task Upsert(ShardWrite write);

    /// <summary>Deletes the entries of <paramref name="keys"/> (absent ones are ignored) and commits.</summary>
    Task Delete(ShardKeys keys);

    /// <summary>The entries of <paramref name="keys"/>, null where absent.</summary>
    [AlwaysInterleave]
    Task<ShardEntry?[]> Get(ShardKeys keys, bool includeVectors);

    /// <summary>The entries of <paramref name="ids"/> (store ids), null where deleted since they were found.</summary>
    [AlwaysInterleave]
    Task<ShardEntry?[]> GetByIds(long[] ids, bool includeVectors);

    /// <summary>The shard's best hits, nearest first (ties by id).</summary>
    [AlwaysInterleave]
    Task<ShardHit[]> Search(ShardSearch search);

    /// <summary>The ids of the entries matching <paramref name="where"/>, ascending.</summary>
    [AlwaysInterleave]
    Task<long[]> FindIds(FilterWire? where);
}

/// <summary>One per silo: which collections have shards on this silo's disk, and their layouts.</summary>
internal interface ISiloCatalogGrain : IGrainWithStringKey
{
    /// <summary>The layout of <paramref name="collection"/> if this silo holds any of its shards, else null.</summary>
    [AlwaysInterleave]
    Task<CollectionLayout?> Find(string collection);

    /// <summary>The collections with shards on this silo.</summary>
    [AlwaysInterleave]
    Task<string[]> List();
}
