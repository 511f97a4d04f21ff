using System.Linq.Expressions;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;

namespace EmbeddedVectors.VectorData;

/// <summary>
/// A collection of records in an EmbeddedVectors store: one store in its own directory. Keys are <c>long</c>,
/// <c>int</c>, <c>Guid</c> or <c>string</c>; one vector property (float[], ReadOnlyMemory&lt;float&gt;,
/// Embedding&lt;float&gt;, or any input of a configured embedding generator); data properties serialised with
/// System.Text.Json, indexed ones also kept as store fields for filters. Every write is committed (durable) before
/// its task completes. See docs/vectordata.md.
/// </summary>
/// <typeparam name="TKey">The key type (<c>object</c> for dynamic collections).</typeparam>
/// <typeparam name="TRecord">The record type.</typeparam>
public class EmbeddedVectorsCollection<TKey, TRecord> : VectorStoreCollection<TKey, TRecord>
    where TKey : notnull
    where TRecord : class
{
    private readonly StoreRegistry _registry;
    private readonly bool _ownsRegistry;
    private readonly string _directory;
    private readonly CollectionSchema _schema;
    private readonly RecordCodec _codec;
    private readonly EmbeddedVectorsIndexSettings _settings;
    private readonly VectorStoreCollectionMetadata _metadata;
    private readonly Func<object, long> _homeId;
    private EmbeddedVectorStore? _checked; // the store instance last checked against this collection's schema

    /// <summary>
    /// A stand-alone collection in <paramref name="rootDirectory"/>/<paramref name="name"/>, with its own open store
    /// (closed when the collection is disposed). Collections from an <see cref="EmbeddedVectorsVectorStore"/> share them instead.
    /// </summary>
    /// <param name="rootDirectory">The directory holding collections.</param>
    /// <param name="name">The collection name (a subdirectory name: no path separators, no '..').</param>
    /// <param name="options">Record definition, embedding generator and index settings; null for the defaults.</param>
    /// <exception cref="NotSupportedException">The record uses a key type, vector type, distance function or index kind the store does not support.</exception>
    /// <exception cref="ArgumentException">The name is not a valid collection name, or the record definition is invalid.</exception>
    public EmbeddedVectorsCollection(string rootDirectory, string name, EmbeddedVectorsCollectionOptions? options = null)
        : this(new StoreRegistry(), ownsRegistry: true, rootDirectory, name, options, null)
    {
    }

    internal EmbeddedVectorsCollection(StoreRegistry registry, bool ownsRegistry, string rootDirectory, string name,
        EmbeddedVectorsCollectionOptions? options, Func<object, long>? homeIdForTests)
    {
        ArgumentNullException.ThrowIfNull(rootDirectory);
        options ??= new EmbeddedVectorsCollectionOptions();
        _directory = CollectionNames.DirectoryOf(Path.GetFullPath(rootDirectory), name);
        Name = name;
        _registry = registry;
        _ownsRegistry = ownsRegistry;
        (options.Index ?? throw new ArgumentException("Index settings are required.", nameof(options))).Validate();
        _settings = options.Index;
        var model = BuildModel(options);
        _schema = new CollectionSchema(model, name);
        _codec = new RecordCodec(_schema, options.JsonSerializerOptions ?? JsonSerializerOptions.Default);
        _homeId = homeIdForTests ?? KeyIds.Home;
        _metadata = new VectorStoreCollectionMetadata
        {
            VectorStoreSystemName = EmbeddedVectorsVectorStore.SystemName,
            VectorStoreName = Path.GetFullPath(rootDirectory),
            CollectionName = name,
        };
    }

    private static CollectionModel BuildModel(EmbeddedVectorsCollectionOptions options)
    {
        if (typeof(TRecord) == typeof(Dictionary<string, object?>))
        {
            if (typeof(TKey) != typeof(object))
                throw new NotSupportedException(VectorDataStrings.NonDynamicCollectionWithDictionaryNotSupported(typeof(EmbeddedVectorsDynamicCollection)));
            return new ModelBuilder().BuildDynamic(
                options.Definition ?? throw new ArgumentException("A dynamic collection needs a VectorStoreCollectionDefinition.", nameof(options)),
                options.EmbeddingGenerator);
        }
        return new ModelBuilder().Build(typeof(TRecord), typeof(TKey), options.Definition, options.EmbeddingGenerator);
    }

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override Task<bool> CollectionExistsAsync(CancellationToken cancellationToken = default)
        => Task.FromResult(EmbeddedVectorStore.Exists(_directory));

    /// <inheritdoc />
    public override Task EnsureCollectionExistsAsync(CancellationToken cancellationToken = default)
    {
        Run("EnsureCollectionExists", () => Checked(_registry.OpenOrCreate(_directory, _schema.StoreOptions(_settings))));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override Task EnsureCollectionDeletedAsync(CancellationToken cancellationToken = default)
    {
        Run("EnsureCollectionDeleted", () => _registry.Delete(_directory));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override Task<TRecord?> GetAsync(TKey key, RecordRetrievalOptions? options = null, CancellationToken cancellationToken = default)
    {
        bool includeVectors = RecordBatch.IncludeVectors(_schema, options?.IncludeVectors ?? false);
        var normalised = KeyIds.Normalise(_schema.Key.Type, key, Name);
        return Task.FromResult(Run("Get", () =>
        {
            var open = Open(required: false);
            if (open == null) return null;
            var entry = Find(open.Store, normalised, out _);
            return entry == null ? null : _codec.Decode<TRecord>(entry, includeVectors);
        }));
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<TRecord> GetAsync(Expression<Func<TRecord, bool>> filter, int top,
        FilteredRecordRetrievalOptions<TRecord>? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        options ??= new FilteredRecordRetrievalOptions<TRecord>();
        bool includeVectors = RecordBatch.CheckPage(_schema, top, options.Skip, options.IncludeVectors);
        var where = new FilterTranslator(_schema).Translate(filter);
        var sort = options.OrderBy?.Invoke(new FilteredRecordRetrievalOptions<TRecord>.OrderByDefinition()).Values;
        var records = Run("Get", () =>
        {
            var open = Open(required: false);
            if (open == null) return [];
            var store = open.Store;
            var ids = store.FindIds(where);
            if (sort == null || sort.Count == 0)
            {
                // Ascending key order for integer keys (hash order for the others): a stable order for paging.
                var page = new List<TRecord>();
                for (long i = options.Skip; i < ids.Length && page.Count < top; i++)
                    if (store.Get(ids[i]) is { } entry) page.Add(_codec.Decode<TRecord>(entry, includeVectors));
                return page;
            }
            var all = new List<TRecord>(ids.Length);
            foreach (long id in ids)
                if (store.Get(id) is { } entry) all.Add(_codec.Decode<TRecord>(entry, includeVectors));
            return RecordBatch.Sorted(_schema, all, sort).Skip(options.Skip).Take(top).ToList();
        });
        foreach (var record in records)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return record;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override Task DeleteAsync(TKey key, CancellationToken cancellationToken = default) => DeleteAsync([key], cancellationToken);

    /// <inheritdoc />
    public override async Task DeleteAsync(IEnumerable<TKey> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var normalised = keys.Select(k => KeyIds.Normalise(_schema.Key.Type, k, Name)).ToList();
        var open = Run("Delete", () => Open(required: false));
        if (open == null || normalised.Count == 0) return;
        await open.WriteGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Run("Delete", () =>
            {
                foreach (var key in normalised)
                {
                    if (!_schema.KeyIsHashed) open.Store.Delete(IntegerId(key));
                    else if (Find(open.Store, key, out long id) != null) open.Store.Delete(id);
                }
            });
            await RunAsync("Delete", () => open.Store.CommitAsync(cancellationToken)).ConfigureAwait(false);
        }
        finally { open.WriteGate.Release(); }
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

        var open = Run("Upsert", () => Open(required: true))!;
        await open.WriteGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Run("Upsert", () =>
            {
                var ids = _schema.KeyIsHashed
                    ? HashedKeySlots.Assign(open.Store, encoded.Keys.Select(_homeId).ToArray(), encoded.Keys.Select(KeyIds.KeyText).ToArray(), Name)
                    : encoded.Keys.Select(IntegerId).ToArray();
                open.Store.AddRange(ids, encoded.Vectors, encoded.Payloads, encoded.Fields);
            });
            await RunAsync("Upsert", () => open.Store.CommitAsync(cancellationToken)).ConfigureAwait(false);
        }
        finally { open.WriteGate.Release(); }
    }

    private static long IntegerId(object key) => key is int i ? i : (long)key;

    /// <summary>The entry holding <paramref name="key"/>, or null.</summary>
    private StoredEntry? Find(EmbeddedVectorStore store, object key, out long id)
    {
        if (!_schema.KeyIsHashed)
        {
            id = IntegerId(key);
            return store.Get(id);
        }
        return HashedKeySlots.Find(store, _homeId(key), KeyIds.KeyText(key), out id);
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<VectorSearchResult<TRecord>> SearchAsync<TInput>(TInput searchValue, int top,
        VectorSearchOptions<TRecord>? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(searchValue);
        options ??= new VectorSearchOptions<TRecord>();
        bool includeVectors = RecordBatch.CheckPage(_schema, top, options.Skip, options.IncludeVectors);
        var vectorProperty = _schema.Model.GetVectorPropertyOrSingle(options);
        var query = await RecordBatch.QueryVectorAsync(vectorProperty, searchValue, cancellationToken).ConfigureAwait(false);
        var where = options.Filter == null ? null : new FilterTranslator(_schema).Translate(options.Filter);
        var results = Run("Search", () =>
        {
            var open = Open(required: true)!;
            int k = checked(top + options.Skip);
            var hits = open.Store.Search(query.Span, k, new StoreSearchOptions
            {
                NProbe = _settings.NProbe,
                Rerank = _schema.Rerank(_settings, k),
                Where = where,
            });
            var found = new List<VectorSearchResult<TRecord>>(Math.Max(0, hits.Count - options.Skip));
            for (int i = options.Skip; i < hits.Count; i++)
            {
                double score = _schema.Score(hits[i].Distance);
                if (options.ScoreThreshold is double threshold && !_schema.Passes(score, threshold)) continue;
                if (open.Store.Get(hits[i].Id) is { } entry) // null: deleted since the search
                    found.Add(new VectorSearchResult<TRecord>(_codec.Decode<TRecord>(entry, includeVectors), score));
            }
            return found;
        });
        foreach (var result in results)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return result;
        }
    }

    /// <inheritdoc />
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey != null) return null;
        if (serviceType == typeof(VectorStoreCollectionMetadata)) return _metadata;
        if (serviceType == typeof(EmbeddedVectorStore)) return _registry.TryOpen(_directory)?.Store;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsRegistry) _registry.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>The open store, checked against this collection's schema; null (or a VectorStoreException when <paramref name="required"/>) when the collection does not exist.</summary>
    private StoreRegistry.OpenStore? Open(bool required)
    {
        var open = _registry.TryOpen(_directory);
        if (open == null)
        {
            if (!required) return null;
            throw new VectorStoreException($"Collection '{Name}' does not exist; call EnsureCollectionExistsAsync first.")
            {
                VectorStoreSystemName = EmbeddedVectorsVectorStore.SystemName,
                CollectionName = Name,
            };
        }
        return Checked(open);
    }

    private StoreRegistry.OpenStore Checked(StoreRegistry.OpenStore open)
    {
        if (!ReferenceEquals(Volatile.Read(ref _checked), open.Store))
        {
            _schema.CheckExisting(open.Store);
            Volatile.Write(ref _checked, open.Store);
        }
        return open;
    }

    /// <summary>Runs a store operation, reporting the store's own failures as <see cref="VectorStoreException"/> naming the collection and operation.</summary>
    private T Run<T>(string operation, Func<T> action)
    {
        try { return action(); }
        catch (Exception e) when (e is EmbeddedVectorsException or IOException or UnauthorizedAccessException)
        {
            throw Wrap(operation, e);
        }
    }

    private void Run(string operation, Action action) => Run<bool>(operation, () => { action(); return true; });

    private async Task RunAsync(string operation, Func<Task> action)
    {
        try { await action().ConfigureAwait(false); }
        catch (Exception e) when (e is EmbeddedVectorsException or IOException or UnauthorizedAccessException)
        {
            throw Wrap(operation, e);
        }
    }

    private VectorStoreException Wrap(string operation, Exception e) => new($"EmbeddedVectors {operation} on collection '{Name}' failed: {e.Message}", e)
    {
        VectorStoreSystemName = EmbeddedVectorsVectorStore.SystemName,
        VectorStoreName = _metadata.VectorStoreName,
        CollectionName = Name,
        OperationName = operation,
    };
}

/// <summary>Orders property values for <c>OrderBy</c>: nulls first, then by their own comparison.</summary>
internal sealed class SortComparer : IComparer<object?>
{
    public static readonly SortComparer Instance = new();

    public int Compare(object? x, object? y)
    {
        if (x == null) return y == null ? 0 : -1;
        if (y == null) return 1;
        if (x is string a && y is string b) return string.CompareOrdinal(a, b);
        return Comparer<object>.Default.Compare(x, y);
    }
}
