using System.Runtime.CompilerServices;
using Microsoft.Extensions.VectorData;

namespace EmbeddedVectors.VectorData;

/// <summary>
/// A <see cref="VectorStore"/> over a directory: each collection is an EmbeddedVectors store in its own subdirectory.
/// Collections handed out share the open stores, which stay open until this object is disposed. Open one
/// <see cref="EmbeddedVectorsVectorStore"/> per directory in a process (a writable store locks its directory).
/// </summary>
public sealed class EmbeddedVectorsVectorStore : VectorStore
{
    /// <summary>The name reported as <see cref="VectorStoreMetadata.VectorStoreSystemName"/>.</summary>
    public const string SystemName = "embeddedvectors";

    private readonly StoreRegistry _registry = new();
    private readonly EmbeddedVectorsVectorStoreOptions _options;
    private readonly VectorStoreMetadata _metadata;

    /// <summary>A vector store in <paramref name="directory"/> (created if missing).</summary>
    /// <param name="directory">The directory whose subdirectories are the collections.</param>
    /// <param name="options">Embedding generator, index and serialisation defaults; null for the defaults.</param>
    public EmbeddedVectorsVectorStore(string directory, EmbeddedVectorsVectorStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(Directory);
        _options = options ?? new EmbeddedVectorsVectorStoreOptions();
        _metadata = new VectorStoreMetadata { VectorStoreSystemName = SystemName, VectorStoreName = Directory };
    }

    /// <summary>The full path of the directory holding the collections.</summary>
    public string Directory { get; }

    /// <summary>For tests: replaces the hash of Guid and string keys, to force collisions.</summary>
    internal Func<object, long>? HomeIdForTests { get; init; }

    /// <inheritdoc />
    public override EmbeddedVectorsCollection<TKey, TRecord> GetCollection<TKey, TRecord>(string name, VectorStoreCollectionDefinition? definition = null)
    {
        if (typeof(TRecord) == typeof(Dictionary<string, object?>))
            throw new NotSupportedException(Microsoft.Extensions.VectorData.ProviderServices.VectorDataStrings.GetCollectionWithDictionaryNotSupported);
        return new EmbeddedVectorsCollection<TKey, TRecord>(_registry, ownsRegistry: false, Directory, name, CollectionOptions(definition), HomeIdForTests);
    }

    /// <inheritdoc />
    public override EmbeddedVectorsDynamicCollection GetDynamicCollection(string name, VectorStoreCollectionDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return new EmbeddedVectorsDynamicCollection(_registry, Directory, name, CollectionOptions(definition));
    }

    private EmbeddedVectorsCollectionOptions CollectionOptions(VectorStoreCollectionDefinition? definition) => new()
    {
        Definition = definition,
        EmbeddingGenerator = _options.EmbeddingGenerator,
        Index = _options.Index,
        JsonSerializerOptions = _options.JsonSerializerOptions,
    };

    /// <inheritdoc />
    public override async IAsyncEnumerable<string> ListCollectionNamesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var directory in System.IO.Directory.EnumerateDirectories(Directory).Order(StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (EmbeddedVectorStore.Exists(directory)) yield return Path.GetFileName(directory);
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override Task<bool> CollectionExistsAsync(string name, CancellationToken cancellationToken = default)
        => Task.FromResult(EmbeddedVectorStore.Exists(CollectionNames.DirectoryOf(Directory, name)));

    /// <inheritdoc />
    public override Task EnsureCollectionDeletedAsync(string name, CancellationToken cancellationToken = default)
    {
        _registry.Delete(CollectionNames.DirectoryOf(Directory, name));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey != null) return null;
        if (serviceType == typeof(VectorStoreMetadata)) return _metadata;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) _registry.Dispose();
        base.Dispose(disposing);
    }
}
