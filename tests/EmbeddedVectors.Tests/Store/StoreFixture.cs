namespace EmbeddedVectors.Tests.Store;

/// <summary>A temporary directory for one store, deleted afterwards.</summary>
public sealed class TempStoreDirectory : IDisposable
{
    public TempStoreDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ev-store-" + Guid.NewGuid().ToString("N"));
    }

    public string Path { get; }

    public void Dispose()
    {
        try { if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}
