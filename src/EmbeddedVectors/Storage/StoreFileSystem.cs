using Microsoft.Win32.SafeHandles;

namespace EmbeddedVectors.Storage;

/// <summary>
/// The I/O seam: every change the store makes to its directory (file contents, flushes, renames, deletions,
/// directories and their syncs), including the payload log's (through <see cref="StoreLogDevice"/>), goes through
/// one of these. Reads (memory maps, positional reads) use the files directly: the seam exists so that a test can
/// record every write and replay what a power cut could have left on disk.
/// </summary>
internal interface IStoreFileSystem
{
    /// <summary>Creates (or truncates) a file for writing, optionally preallocating <paramref name="preallocate"/> bytes.</summary>
    StoreFile Create(string path, long preallocate = 0);

    /// <summary>
    /// Opens a file of the payload log, creating it when <paramref name="writable"/> and missing. Writes to it are
    /// durable when they return (write-through, as FASTER's own device opens its files).
    /// </summary>
    StoreFile OpenLogFile(string path, bool writable);

    /// <summary>Renames <paramref name="source"/> to <paramref name="destination"/>, replacing it.</summary>
    void Move(string source, string destination);

    /// <summary>Deletes a file; a missing file is not an error.</summary>
    void Delete(string path);

    /// <summary>Creates a directory and any missing parents.</summary>
    void CreateDirectory(string path);

    /// <summary>Deletes a directory with everything in it.</summary>
    void DeleteDirectory(string path);

    /// <summary>Makes the entries of <paramref name="directory"/> (creations, renames, deletions) durable.</summary>
    void SyncDirectory(string directory);
}

/// <summary>A file opened for writing through an <see cref="IStoreFileSystem"/>: positional writes and reads.</summary>
internal abstract class StoreFile : IDisposable
{
    /// <summary>The file's full path.</summary>
    public abstract string Path { get; }

    /// <summary>The file's length in bytes.</summary>
    public abstract long Length { get; }

    /// <summary>Sets the file's length (extending with zeros).</summary>
    public abstract void SetLength(long length);

    /// <summary>Writes <paramref name="bytes"/> at <paramref name="offset"/>.</summary>
    public abstract void Write(ReadOnlySpan<byte> bytes, long offset);

    /// <summary>Reads up to <paramref name="buffer"/>.Length bytes at <paramref name="offset"/>; returns how many were read.</summary>
    public abstract int Read(Span<byte> buffer, long offset);

    /// <summary>Makes every write so far durable (fsync).</summary>
    public abstract void Sync();

    /// <summary>Closes the file.</summary>
    public abstract void Dispose();
}

/// <summary>
/// Where the store's files go: the real file system, unless a test has routed a directory tree to a recording
/// file system with <see cref="Route"/>. Routing by path (rather than passing a file system down every call)
/// keeps the seam in one place, and lets FASTER's threads and background merges find the same file system.
/// </summary>
internal static class StoreFileSystem
{
    private static volatile (string Root, IStoreFileSystem FileSystem)[] s_routes = [];
    private static readonly Lock s_routesLock = new();

    /// <summary>The file system to write <paramref name="path"/> through (the real one unless a test routed it).</summary>
    public static IStoreFileSystem For(string path)
    {
        var routes = s_routes;
        if (routes.Length == 0) return RealFileSystem.Instance;
        string full = System.IO.Path.GetFullPath(path);
        foreach (var (root, fileSystem) in routes)
            if (full.StartsWith(root, StringComparison.Ordinal) && (full.Length == root.Length || full[root.Length] == System.IO.Path.DirectorySeparatorChar))
                return fileSystem;
        return RealFileSystem.Instance;
    }

    /// <summary>Sends every write under <paramref name="root"/> through <paramref name="fileSystem"/> until the result is disposed (tests).</summary>
    public static IDisposable Route(string root, IStoreFileSystem fileSystem)
    {
        var entry = (System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(root)), fileSystem);
        lock (s_routesLock) s_routes = [.. s_routes, entry];
        return new Unroute(entry);
    }

    private sealed class Unroute((string, IStoreFileSystem) entry) : IDisposable
    {
        public void Dispose()
        {
            lock (s_routesLock) s_routes = Array.FindAll(s_routes, route => route != entry);
        }
    }
}

/// <summary>The real file system: what the store always used, through <see cref="RandomAccess"/> on file handles.</summary>
internal sealed class RealFileSystem : IStoreFileSystem
{
    /// <summary>The one instance.</summary>
    public static RealFileSystem Instance { get; } = new();

    private RealFileSystem() { }

    public StoreFile Create(string path, long preallocate = 0)
    {
        // Preallocating reports a full disk now rather than half-way.
        var handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, FileOptions.None, preallocate);
        return new HandleFile(path, handle);
    }

    public StoreFile OpenLogFile(string path, bool writable)
    {
        // As FASTER's ManagedLocalStorageDevice: write-through (O_SYNC), shared with readers and the deleter. A
        // read-only open never creates the file (FASTER's device would).
        var handle = writable
            ? File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, FileOptions.WriteThrough)
            : File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new HandleFile(path, handle);
    }

    public void Move(string source, string destination) => File.Move(source, destination, overwrite: true);

    public void Delete(string path) => File.Delete(path);

    public void CreateDirectory(string path) => Directory.CreateDirectory(path);

    public void DeleteDirectory(string path) => Directory.Delete(path, recursive: true);

    public void SyncDirectory(string directory) => FileHeaders.SyncDirectory(directory);

    private sealed class HandleFile(string path, SafeFileHandle handle) : StoreFile
    {
        public override string Path => path;

        public override long Length => RandomAccess.GetLength(handle);

        public override void SetLength(long length) => RandomAccess.SetLength(handle, length);

        public override void Write(ReadOnlySpan<byte> bytes, long offset) => RandomAccess.Write(handle, bytes, offset);

        public override int Read(Span<byte> buffer, long offset) => RandomAccess.Read(handle, buffer, offset);

        public override void Sync() => RandomAccess.FlushToDisk(handle);

        public override void Dispose() => handle.Dispose();
    }
}

/// <summary>Durable directory changes over the seam: each is synced so that it survives a power cut.</summary>
internal static class DurableDirectory
{
    /// <summary>
    /// Creates <paramref name="path"/> (and missing parents) and syncs each parent whose entries changed, so that
    /// files made durable inside it later are reachable after a power cut. (Directory syncs are a no-op where the
    /// OS has none: see <see cref="FileHeaders.SyncDirectory"/>.)
    /// </summary>
    public static void Create(string path)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (Directory.Exists(full)) return;
        string? parent = Path.GetDirectoryName(full);
        if (parent != null) Create(parent);
        var fileSystem = StoreFileSystem.For(full);
        fileSystem.CreateDirectory(full);
        if (parent != null) fileSystem.SyncDirectory(parent);
    }
}
