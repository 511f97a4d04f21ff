using System.Linq.Expressions;
using System.Runtime.CompilerServices;
using System.Text.Json;
using EmbeddedVectors.VectorData;
using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;
using Orleans.Runtime;

namespace EmbeddedVectors.Cluster;

/// <summary>
/// A collection sharded over an Orleans cluster. Records map to entries exactly as in EmbeddedVectors.VectorData (the
/// same payload, fields, keys and scores); each key lives in the shard its stable hash picks. A search runs on every
/// shard with the same settings and the hits are merged by distance, ties by id, as one store orders them; filters run
/// on every shard, so a filtered search keeps min(top, matches) hits. If a shard cannot answer, the operation fails
/// with a <see cref="VectorStoreException"/> naming the shards and their silos. Writes to several shards are not
/// atomic together: each shard commits its part. See docs/cluster.md.
/// </summary>
/// <typeparam name="TKey">The key type: long, int, Guid or string.</typeparam>
/// <typeparam name="TRecord">The record type.</typeparam>
public sealed class ClusterCollection<TKey, TRecord> : VectorStoreCollection<TKey, TRecord>
    where TKey : notnull
    where TRecord : class
{
    private readonly IClusterClient _client;
    private readonly CollectionSchema _schema;
    private readonly RecordCodec _codec;
    private readonly EmbeddedVectorsIndexSettings _settings;
    private readonly int _shardCount;
    private readonly VectorStoreCollectionMetadata _metadata;
    private CollectionLayout? _layout;

    internal ClusterCollection(IClusterClient client, string name, VectorStoreCollectionDefinition? definition, ClusterVectorStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(client);
        CollectionNames.Validate(name);
        (options.Index ?? throw new ArgumentException("Index settings are required.", nameof(options))).Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ShardCount, 1, "options.ShardCount");
        if (typeof(TRecord) == typeof(Dictionary<string, object?>))
            throw new NotSupportedException("Dynamic (dictionary) records are not supported by clustered collections yet.");
        _client = client;
        Name = name;
        _settings = options.Index;
        _shardCount = options.ShardCount;
        _schema = new CollectionSchema(new ModelBuilder().Build(typeof(TRecord), typeof(TKey), definition, options.EmbeddingGenerator), name);
        _codec = new RecordCodec(_schema, options.JsonSerializerOptions ?? JsonSerializerOptions.Default);
        _metadata = new VectorStoreCollectionMetadata { VectorStoreSystemName = ClusterVectorStore.SystemName, CollectionName = name };
    }

    /// <inheritdoc />
    public override string Name { get; }

    /// <summary>The layout of the collection (found on the silos and then remembered), or null when no active silo holds any of its shards.</summary>
    private async Task<CollectionLayout?> LayoutAsync()
    {
        if (_layout != null) return _layout;
        foreach (var silo in await ActiveSilosAsync().ConfigureAwait(false))
        {
            var layout = await _client.GetGrain<ISiloCatalogGrain>(ShardPlacement.CatalogKey(silo)).Find(Name).ConfigureAwait(false);
            if (layout != null) return _layout = layout;
        }
        return null;
    }

    internal async Task<string[]> ActiveSilosAsync()
    {
        var hosts = await _client.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: true).ConfigureAwait(false);
        return [.. hosts.Select(h => h.SiloName).Order(StringComparer.Ordinal)];
    }

    private async Task<CollectionLayout> RequiredLayoutAsync(string operation)
        => await LayoutAsync().ConfigureAwait(false) ?? throw Error(operation, $"Collection '{Name}' does not exist (no active silo holds a shard of it); call EnsureCollectionExistsAsync first.");

    private IShardGrain Shard(CollectionLayout layout, int shard) => _client.GetGrain<IShardGrain>(layout.ShardKey(shard));

    /// <summary>Runs <paramref name="call"/> on the given shards at once; fails naming every shard that did not answer.</summary>
    private async Task<T[]> OnShards<T>(string operation, CollectionLayout layout, IReadOnlyList<int> shards, Func<IShardGrain, int, Task<T>> call)
    {
        var (answers, failure) = await CallShards(operation, layout, shards, call).ConfigureAwait(false);
        if (failure != null) throw failure;
        return answers!;
    }

    /// <summary>
    /// Runs <paramref name="call"/> on the given shards at once: every answer, or (when a shard did not answer) the
    /// answers of the others, default where a shard failed, and an exception naming the failed shards and their silos.
    /// </summary>
    private async Task<(T?[] Answers, ShardsUnavailableException? Failure)> CallShards<T>(string operation, CollectionLayout layout,
        IReadOnlyList<int> shards, Func<IShardGrain, int, Task<T>> call)
    {
        var tasks = new Task<T>[shards.Count];
        for (int i = 0; i < shards.Count; i++) tasks[i] = call(Shard(layout, shards[i]), shards[i]);
        try { return (await Task.WhenAll(tasks).ConfigureAwait(false), null); }
        catch (Exception)
        {
            var answers = new T?[tasks.Length];
            var failed = new List<int>();
            Exception? first = null;
            for (int i = 0; i < tasks.Length; i++)
            {
                if (tasks[i].IsCompletedSuccessfully) { answers[i] = tasks[i].Result; continue; }
                failed.Add(shards[i]);
                first ??= tasks[i].Exception?.InnerException;
            }
            string names = string.Join(", ", failed.Select(s => $"{s} (silo '{layout.ShardSilos[s]}')"));
            return (answers, new ShardsUnavailableException(
                $"{operation} on collection '{Name}' failed: shard{(failed.Count == 1 ? "" : "s")} {names} of {layout.ShardCount} did not answer: {first?.Message}",
                first, [.. failed])
            {
                VectorStoreSystemName = ClusterVectorStore.SystemName,
                CollectionName = Name,
                OperationName = operation,
            });
        }
    }

    private Task OnShards(string operation, CollectionLayout layout, IReadOnlyList<int> shards, Func<IShardGrain, int, Task> call)
        => OnShards(operation, layout, shards, async (grain, shard) => { await call(grain, shard).ConfigureAwait(false); return true; });

    private static int[] AllShards(CollectionLayout layout) => [.. Enumerable.Range(0, layout.ShardCount)];

    private VectorStoreException Error(string operation, string message, Exception? inner = null) => new(message, inner)
    {
        VectorStoreSystemName = ClusterVectorStore.SystemName,
        CollectionName = Name,
        OperationName = operation,
    };

    /// <inheritdoc />
    public override async Task<bool> CollectionExistsAsync(CancellationToken cancellationToken = default)
    {
        _layout = null; // another client may have created or deleted it
        return await LayoutAsync().ConfigureAwait(false) != null;
    }

    /// <inheritdoc />
    public override async Task EnsureCollectionExistsAsync(CancellationToken cancellationToken = default)
    {
        var layout = await LayoutAsync().ConfigureAwait(false)
            ?? new CollectionLayout(Name, ShardRouting.AssignSilos(Name, _shardCount, await ActiveSilosAsync().ConfigureAwait(false)));
        var shape = ShardStoreShape.From(_schema.StoreOptions(_settings));
        await OnShards("EnsureCollectionExists", layout, AllShards(layout), (grain, _) => grain.Create(layout, shape)).ConfigureAwait(false);
        _layout = layout;
    }

    /// <inheritdoc />
    public override async Task EnsureCollectionDeletedAsync(CancellationToken cancellationToken = default)
    {
        _layout = null;
        var layout = await LayoutAsync().ConfigureAwait(false);
        if (layout == null) return;
        await OnShards("EnsureCollectionDeleted", layout, AllShards(layout), (grain, _) => grain.Drop()).ConfigureAwait(false);
        _layout = null;
    }

    /// <inheritdoc />
    public override async Task<TRecord?> GetAsync(TKey key, RecordRetrievalOptions? options = null, CancellationToken cancellationToken = default)
    {
        await foreach (var record in GetAsync([key], options, cancellationToken).ConfigureAwait(false)) return record;
        return null;
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<TRecord> GetAsync(IEnumerable<TKey> keys, RecordRetrievalOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        bool includeVectors = RecordBatch.IncludeVectors(_schema, options?.IncludeVectors ?? false);
        var normalised = keys.Select(k => KeyIds.Normalise(_schema.Key.Type, k, Name)).ToList();
        var layout = await LayoutAsync().ConfigureAwait(false);
        if (layout == null || normalised.Count == 0) yield break;
        var groups = ShardRouting.Group(normalised, layout.ShardCount, _schema.KeyIsHashed);
        var shards = groups.Keys.ToArray();
        var answers = await OnShards("Get", layout, shards, (grain, shard) => grain.Get(groups[shard].Keys, includeVectors)).ConfigureAwait(false);
        var found = new ShardEntry?[normalised.Count];
        for (int g = 0; g < shards.Length; g++)
        {
            var positions = groups[shards[g]].Positions;
            for (int j = 0; j < positions.Count; j++) found[positions[j]] = answers[g][j];
        }
        foreach (var entry in found)
            if (entry != null) yield return _codec.Decode<TRecord>(entry.ToStoredEntry(), includeVectors);
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<TRecord> GetAsync(Expression<Func<TRecord, bool>> filter, int top,
        FilteredRecordRetrievalOptions<TRecord>? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        options ??= new FilteredRecordRetrievalOptions<TRecord>();
        bool includeVectors = RecordBatch.CheckPage(_schema, top, options.Skip, options.IncludeVectors);
        var where = FilterWire.From(new FilterTranslator(_schema).Translate(filter));
        var sort = options.OrderBy?.Invoke(new FilteredRecordRetrievalOptions<TRecord>.OrderByDefinition()).Values;
        var layout = await LayoutAsync().ConfigureAwait(false);
        if (layout == null) yield break;
        var all = AllShards(layout);
        var ids = await OnShards("Get", layout, all, (grain, _) => grain.FindIds(where)).ConfigureAwait(false);
        // Every match as (id, shard) in ascending id order, as one store lists them; then the page (or, sorted, all).
        var matches = new List<(long Id, int Shard)>();
        for (int s = 0; s < ids.Length; s++) foreach (long id in ids[s]) matches.Add((id, s));
        matches.Sort((a, b) => a.Id.CompareTo(b.Id));
        bool sorted = sort != null && sort.Count > 0;
        var wanted = sorted ? matches : matches.Skip(options.Skip).Take(top).ToList();
        var byShard = wanted.GroupBy(m => m.Shard).ToDictionary(g => g.Key, g => g.Select(m => m.Id).ToArray());
        var shards = byShard.Keys.ToArray();
        var answers = await OnShards("Get", layout, shards, (grain, shard) => grain.GetByIds(byShard[shard], includeVectors)).ConfigureAwait(false);
        var entries = new Dictionary<long, ShardEntry>();
        foreach (var answer in answers) foreach (var entry in answer) if (entry != null) entries[entry.Id] = entry;
        var records = new List<TRecord>(wanted.Count);
        foreach (var (id, _) in wanted)
            if (entries.TryGetValue(id, out var entry)) records.Add(_codec.Decode<TRecord>(entry.ToStoredEntry(), includeVectors));
        IEnumerable<TRecord> page = sorted ? RecordBatch.Sorted(_schema, records, sort!).Skip(options.Skip).Take(top) : records;
        foreach (var record in page)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return record;
        }
    }

    /// <inheritdoc />
    public override Task DeleteAsync(TKey key, CancellationToken cancellationToken = default) => DeleteAsync([key], cancellationToken);

    /// <inheritdoc />
    public override async Task DeleteAsync(IEnumerable<TKey> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var normalised = keys.Select(k => KeyIds.Normalise(_schema.Key.Type, k, Name)).ToList();
        var layout = await LayoutAsync().ConfigureAwait(false);
        if (layout == null || normalised.Count == 0) return;
        var groups = ShardRouting.Group(normalised, layout.ShardCount, _schema.KeyIsHashed);
        await OnShards("Delete", layout, groups.Keys.ToArray(), (grain, shard) => grain.Delete(groups[shard].Keys)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override Task UpsertAsync(TRecord record, CancellationToken cancellationToken = default) => UpsertAsync([record], cancellationToken);

    /// <inheritdoc />
    public override async Task UpsertAsync(IEnumerable<TRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        var batch = records as IReadOnlyList<TRecord> ?? records.ToList();
        if (batch.Count == 0) return;
        var encoded = await RecordBatch.EncodeAsync(_schema, _codec, batch, Name, cancellationToken).ConfigureAwait(false);
        var layout = await RequiredLayoutAsync("Upsert").ConfigureAwait(false);
        var groups = ShardRouting.Group(encoded.Keys, layout.ShardCount, _schema.KeyIsHashed);
        string[] fieldNames = [.. _schema.Fields.Select(f => f.Name)];
        var writes = new Dictionary<int, ShardWrite>();
        foreach (var (shard, (positions, keys)) in groups)
        {
            int dimension = encoded.Dimension;
            var vectors = new float[positions.Count * dimension];
            var payloads = new byte[positions.Count][];
            var rows = new object?[]?[positions.Count];
            for (int j = 0; j < positions.Count; j++)
            {
                int i = positions[j];
                encoded.Vectors.AsSpan(i * dimension, dimension).CopyTo(vectors.AsSpan(j * dimension, dimension));
                payloads[j] = encoded.Payloads[i];
                rows[j] = encoded.Fields[i] is { } values ? [.. fieldNames.Select(name => values[name])] : null;
            }
            writes[shard] = new ShardWrite(keys, vectors, payloads, fieldNames, rows);
        }
        await OnShards("Upsert", layout, writes.Keys.ToArray(), (grain, shard) => grain.Upsert(writes[shard])).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="ShardsUnavailableException">A shard did not answer (its silo is down); the message names every such shard and its silo.</exception>
    public override async IAsyncEnumerable<VectorSearchResult<TRecord>> SearchAsync<TInput>(TInput searchValue, int top,
        VectorSearchOptions<TRecord>? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var found = await SearchShardsAsync(searchValue, top, options, allowPartial: false, cancellationToken).ConfigureAwait(false);
        foreach (var result in found.Results)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return result;
        }
    }

    /// <summary>
    /// A search that tolerates unavailable shards: the merged hits of the shards that answered, with the shards that
    /// did not (<see cref="ClusterSearchResults{TRecord}.IsPartial"/>). Hits of unavailable shards are missing, so
    /// a partial result is the best top of the entries that could be reached, not of the whole collection.
    /// </summary>
    /// <typeparam name="TInput">The search input: a vector, or the input of the vector property's embedding generator.</typeparam>
    /// <param name="searchValue">The query.</param>
    /// <param name="top">Hits to return.</param>
    /// <param name="options">Filter, skip, score threshold, vectors, as for <see cref="SearchAsync"/>.</param>
    /// <param name="cancellationToken">Cancels the search.</param>
    /// <returns>The hits and the unavailable shards.</returns>
    public Task<ClusterSearchResults<TRecord>> SearchAllowingPartialAsync<TInput>(TInput searchValue, int top,
        VectorSearchOptions<TRecord>? options = null, CancellationToken cancellationToken = default) where TInput : notnull
        => SearchShardsAsync(searchValue, top, options, allowPartial: true, cancellationToken);

    private async Task<ClusterSearchResults<TRecord>> SearchShardsAsync<TInput>(TInput searchValue, int top, VectorSearchOptions<TRecord>? options,
        bool allowPartial, CancellationToken cancellationToken) where TInput : notnull
    {
        ArgumentNullException.ThrowIfNull(searchValue);
        options ??= new VectorSearchOptions<TRecord>();
        bool includeVectors = RecordBatch.CheckPage(_schema, top, options.Skip, options.IncludeVectors);
        var vectorProperty = _schema.Model.GetVectorPropertyOrSingle(options);
        var query = await RecordBatch.QueryVectorAsync(vectorProperty, searchValue, cancellationToken).ConfigureAwait(false);
        var where = options.Filter == null ? null : FilterWire.From(new FilterTranslator(_schema).Translate(options.Filter));
        var layout = await RequiredLayoutAsync("Search").ConfigureAwait(false);
        // Each shard returns its best top + skip; the merged best top + skip are among them, then the skip applies.
        int k = checked(top + options.Skip);
        var search = new ShardSearch(query.ToArray(), k, _settings.NProbe, _schema.Rerank(_settings, k), where, includeVectors);
        var (answers, failure) = await CallShards("Search", layout, AllShards(layout), (grain, _) => grain.Search(search)).ConfigureAwait(false);
        if (failure != null && !allowPartial) throw failure;
        var merged = new List<ShardHit>();
        foreach (var answer in answers) if (answer != null) merged.AddRange(answer);
        merged.Sort((a, b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Entry.Id.CompareTo(b.Entry.Id));
        var results = new List<VectorSearchResult<TRecord>>(Math.Max(0, Math.Min(merged.Count, k) - options.Skip));
        for (int i = options.Skip; i < Math.Min(merged.Count, k); i++)
        {
            double score = _schema.Score(merged[i].Distance);
            if (options.ScoreThreshold is double threshold && !_schema.Passes(score, threshold)) continue;
            results.Add(new VectorSearchResult<TRecord>(_codec.Decode<TRecord>(merged[i].Entry.ToStoredEntry(), includeVectors), score));
        }
        return new ClusterSearchResults<TRecord>(results, failure?.UnavailableShards ?? []);
    }

    /// <inheritdoc />
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey != null) return null;
        if (serviceType == typeof(VectorStoreCollectionMetadata)) return _metadata;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

}
