namespace EmbeddedVectors.VectorData;

/// <summary>
/// The open stores of one <see cref="EmbeddedVectorsVectorStore"/> (or of one stand-alone collection), by directory:
/// a writable store takes an exclusive lock on its directory, so every collection object of a name shares one open
/// store, and writes that must read first (hashed keys) take its write gate.
/// </summary>
internal sealed class StoreRegistry : IDisposable
{
    private readonly Dictionary<string, OpenStore> _open = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <summary>One open store and the gate its collection's writes pass one at a time.</summary>
    internal sealed class OpenStore(EmbeddedVectorStore store)
    {
        public EmbeddedVectorStore Store { get; } = store;
        public SemaphoreSlim WriteGate { get; } = new(1, 1);
    }

    /// <summary>The open store in <paramref name="directory"/>, opening it if it exists; null when there is none.</summary>
    public OpenStore? TryOpen(string directory)
    {
        lock (_open)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_open.TryGetValue(directory, out var open)) return open;
            if (!EmbeddedVectorStore.Exists(directory)) return null;
            open = new OpenStore(EmbeddedVectorStore.Open(directory));
            _open.Add(directory, open);
            return open;
        }
    }

    /// <summary>The store in <paramref name="directory"/>, created with <paramref name="options"/> when there is none.</summary>
    public OpenStore OpenOrCreate(string directory, EmbeddedVectorStoreOptions options)
    {
        lock (_open)
        {
            var open = TryOpen(directory);
            if (open != null) return open;
            open = new OpenStore(EmbeddedVectorStore.Create(directory, options));
            _open.Add(directory, open);
            return open;
        }
    }

    /// <summary>Closes the store in <paramref name="directory"/> if open, and deletes the directory.</summary>
    public void Delete(string directory)
    {
        lock (_open)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_open.Remove(directory, out var open)) open.Store.Dispose();
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }

    public void Dispose()
    {
        lock (_open)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var open in _open.Values) open.Store.Dispose();
            _open.Clear();
        }
    }
}
