using EmbeddedVectors.VectorData;
using Orleans.Placement;

namespace EmbeddedVectors.Cluster;

/// <summary>
/// A shard: the store of one (collection, shard) on the local disk of the silo named by its key. It refuses to run on
/// any other silo, and refuses every operation but <see cref="Create"/> when its marker file is absent, so a shard
/// that somehow activates away from its files fails clearly instead of answering from an empty store. It stays active
/// while its silo runs (no idle collection): reopening a store replays its log and maps its segments again, which a
/// query should not pay for after a quiet spell.
/// </summary>
[OwnerSiloPlacement, Immovable, CollectionAgeLimit(AlwaysActive = true)]
internal sealed class ShardGrain(SiloFiles files) : Grain, IShardGrain
{
    private string _collection = "";
    private int _shard;
    private EmbeddedVectorStore? _store;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        string key = this.GetPrimaryKeyString();
        string owner = ShardPlacement.OwnerOf(key);
        if (owner != files.SiloName)
            throw new ShardFilesUnavailableException($"Shard '{key}' belongs to silo '{owner}' but was activated on silo '{files.SiloName}'; its files are not here.");
        (_collection, _shard) = ShardPlacement.ShardOf(key);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _store?.Dispose();
        _store = null;
        return Task.CompletedTask;
    }

    private string Name => $"shard {_shard} of collection '{_collection}' on silo '{files.SiloName}'";

    /// <summary>The open store; a clear error when this silo holds no files of the shard.</summary>
    private EmbeddedVectorStore Store()
    {
        if (_store != null) return _store;
        if (!files.IsShard(_collection, _shard))
            throw new ShardFilesUnavailableException($"There are no files of {Name} (expected in {files.ShardDirectory(_collection, _shard)}): the collection does not exist there, or the silo's data directory was lost; restore it from a backup.");
        return _store = EmbeddedVectorStore.Open(files.ShardDirectory(_collection, _shard));
    }

    public Task<bool> Create(CollectionLayout layout, ShardStoreShape shape)
    {
        if (layout.Collection != _collection || layout.ShardSilos[_shard] != files.SiloName)
            throw new ArgumentException($"The layout given to {Name} places it elsewhere.", nameof(layout));
        bool created = false;
        if (!files.IsShard(_collection, _shard))
        {
            string directory = files.ShardDirectory(_collection, _shard);
            // A directory without a marker is a creation that did not finish: start again.
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
            _store = EmbeddedVectorStore.Create(directory, shape.StoreOptions());
            files.WriteShard(layout, _shard);
            created = true;
        }
        var store = Store();
        if (store.Dimension != shape.Dimension || (int)store.Metric != shape.Metric)
            throw new InvalidOperationException($"{Name} exists with {store.Dimension} dimensions and the {store.Metric} metric; the record asks for {shape.Dimension} and {(Metric)shape.Metric}.");
        var missing = shape.Fields().Where(f => store.Fields.All(e => e.Name != f.Name)).ToArray();
        if (missing.Length > 0) store.AddFields(missing);
        return Task.FromResult(created);
    }

    public Task<bool> Exists() => Task.FromResult(files.IsShard(_collection, _shard));

    public Task Drop()
    {
        _store?.Dispose();
        _store = null;
        files.DeleteShard(_collection, _shard);
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public async Task Upsert(ShardWrite write)
    {
        var store = Store();
        var fields = new FieldValues?[write.Keys.Count];
        for (int i = 0; i < fields.Length; i++) fields[i] = FieldsOf(write.FieldNames, write.FieldRows[i]);
        await Task.Run(() =>
        {
            var ids = write.Keys.Hashed ? HashedKeySlots.Assign(store, write.Keys.IdsOrHomes, write.Keys.KeyTexts!, _collection) : write.Keys.IdsOrHomes;
            store.AddRange(ids, write.Vectors, write.Payloads, fields);
            store.Commit();
        });
    }

    private static FieldValues? FieldsOf(string[] names, object?[]? row)
    {
        if (row == null) return null;
        var values = new FieldValues();
        for (int i = 0; i < names.Length; i++)
        {
            switch (row[i])
            {
                case long l: values.Set(names[i], l); break;
                case double d: values.Set(names[i], d); break;
                case string s: values.Set(names[i], s); break;
                case bool b: values.Set(names[i], b); break;
                case DateTimeOffset t: values.Set(names[i], t); break;
                case string[] tags: values.Set(names[i], tags); break;
            }
        }
        return values;
    }

    public async Task Delete(ShardKeys keys)
    {
        var store = Store();
        await Task.Run(() =>
        {
            for (int i = 0; i < keys.Count; i++)
            {
                if (!keys.Hashed) store.Delete(keys.IdsOrHomes[i]);
                else if (HashedKeySlots.Find(store, keys.IdsOrHomes[i], keys.KeyTexts![i], out long id) != null) store.Delete(id);
            }
            store.Commit();
        });
    }

    public Task<ShardEntry?[]> Get(ShardKeys keys, bool includeVectors)
    {
        var store = Store();
        var entries = new ShardEntry?[keys.Count];
        for (int i = 0; i < entries.Length; i++)
        {
            var entry = keys.Hashed ? HashedKeySlots.Find(store, keys.IdsOrHomes[i], keys.KeyTexts![i], out _) : store.Get(keys.IdsOrHomes[i]);
            entries[i] = Wire(entry, includeVectors);
        }
        return Task.FromResult(entries);
    }

    public Task<ShardEntry?[]> GetByIds(long[] ids, bool includeVectors)
    {
        var store = Store();
        var entries = new ShardEntry?[ids.Length];
        for (int i = 0; i < ids.Length; i++) entries[i] = Wire(store.Get(ids[i]), includeVectors);
        return Task.FromResult(entries);
    }

    private static ShardEntry? Wire(StoredEntry? entry, bool includeVectors)
        => entry == null ? null : new ShardEntry(entry.Id, includeVectors ? entry.Vector : null, entry.Payload);

    public Task<ShardHit[]> Search(ShardSearch search)
    {
        var store = Store();
        // On the thread pool, so that searches of one shard run at once (they interleave: each has its snapshot).
        return Task.Run(() =>
        {
            var hits = store.Search(search.Query, search.K, new StoreSearchOptions
            {
                NProbe = search.NProbe,
                Rerank = search.Rerank,
                Where = search.Where?.ToFilter(),
            });
            var found = new List<ShardHit>(hits.Count);
            foreach (var hit in hits)
                if (Wire(store.Get(hit.Id), search.IncludeVectors) is { } entry) // null: deleted since the search
                    found.Add(new ShardHit(hit.Distance, entry));
            return found.ToArray();
        });
    }

    public Task<long[]> FindIds(FilterWire? where)
    {
        var store = Store();
        return Task.Run(() => store.FindIds(where?.ToFilter()));
    }
}
