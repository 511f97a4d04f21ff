using System.Collections.Concurrent;
using FASTER.core;

namespace EmbeddedVectors.Storage;

/// <summary>
/// The payload log's FASTER device (its segment files and, through <see cref="StoreLogDeviceFactory"/>, its commit
/// files), writing through the <see cref="IStoreFileSystem"/> seam. It does what FASTER 2.6.5's
/// <c>ManagedLocalStorageDevice</c> does on Linux (one file per segment, <c>name.N</c>; write-through writes; 512-byte
/// sectors; I/O completed on the thread pool) with two differences: it syncs the directory when it creates a file
/// (FASTER never does, so a new segment or commit file could vanish in a power cut although its writes were
/// durable), and a read-only device never creates a file by reading it.
/// </summary>
internal sealed class StoreLogDevice : StorageDeviceBase
{
    private const uint Sector = 512;

    private readonly bool _writable;
    private readonly string _directory;
    private readonly IStoreFileSystem _fileSystem;
    private readonly ConcurrentDictionary<int, StoreFile> _files = new();
    private readonly Lock _createLock = new();
    private volatile bool _disposed;

    /// <param name="fileName">The files' path prefix: segment N is <c>fileName.N</c>.</param>
    /// <param name="writable">False for a read-only viewer: files are opened for reading only and never created.</param>
    public StoreLogDevice(string fileName, bool writable) : base(fileName, Sector, Devices.CAPACITY_UNSPECIFIED)
    {
        _writable = writable;
        _directory = Path.GetDirectoryName(Path.GetFullPath(fileName))!;
        _fileSystem = StoreFileSystem.For(fileName);
        // FASTER's device creates its directory (the commit files' log-commits/); here durably.
        if (writable) DurableDirectory.Create(_directory);
        ThrottleLimit = 120; // as FASTER's managed device
    }

    public override bool Throttle() => false;

    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
    {
        HandleCapacity(segmentId);
        ThreadPool.UnsafeQueueUserWorkItem(static request => request.Run(), new Request(this, false, segmentId, destinationAddress, sourceAddress, numBytesToWrite, callback, context), preferLocal: false);
    }

    public override void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength, DeviceIOCompletionCallback callback, object context)
        => ThreadPool.UnsafeQueueUserWorkItem(static request => request.Run(), new Request(this, true, segmentId, sourceAddress, destinationAddress, readLength, callback, context), preferLocal: false);

    public override void RemoveSegment(int segment)
    {
        if (_files.TryRemove(segment, out var file)) file.Dispose();
        try { _fileSystem.Delete(SegmentName(segment)); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    public override void RemoveSegmentAsync(int segment, AsyncCallback callback, IAsyncResult result)
    {
        RemoveSegment(segment);
        callback(result);
    }

    public override long GetFileSize(int segment)
    {
        if (segmentSize > 0) return segmentSize;
        return File(segment) is { } file ? file.Length : 0;
    }

    public override void Reset()
    {
        foreach (int segment in _files.Keys)
            if (_files.TryRemove(segment, out var file)) file.Dispose();
    }

    public override void Dispose()
    {
        _disposed = true;
        Reset();
    }

    private string SegmentName(int segment) => GetSegmentFilename(FileName, segment);

    /// <summary>The open file of <paramref name="segment"/>; null when a read-only device finds it missing.</summary>
    private StoreFile? File(int segment)
    {
        if (_files.TryGetValue(segment, out var file)) return file;
        lock (_createLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_files.TryGetValue(segment, out file)) return file;
            string path = SegmentName(segment);
            bool existed = System.IO.File.Exists(path);
            if (!_writable && !existed) return null;
            file = _fileSystem.OpenLogFile(path, _writable);
            // The known gap of FASTER's device: the new file's name is durable only once its directory is synced.
            if (!existed) _fileSystem.SyncDirectory(_directory);
            _files[segment] = file;
            return file;
        }
    }

    /// <summary>One I/O, run on the thread pool; completes through FASTER's callback with the error code and byte count.</summary>
    private sealed unsafe class Request(StoreLogDevice device, bool read, int segment, ulong fileOffset, IntPtr memory, uint length, DeviceIOCompletionCallback callback, object context)
    {
        public void Run()
        {
            uint error = 0, done = 0;
            try
            {
                var file = device.File(segment);
                var bytes = new Span<byte>((void*)memory, (int)length);
                if (read)
                {
                    // A missing file (read-only) or a read past the end gives fewer bytes, as FASTER's device does.
                    while (file != null && done < length)
                    {
                        int n = file.Read(bytes[(int)done..], (long)fileOffset + done);
                        if (n == 0) break;
                        done += (uint)n;
                    }
                }
                else
                {
                    file!.Write(bytes, (long)fileOffset);
                    done = length;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                // FASTER's devices report the low 16 bits of the HResult (the errno for Unix I/O errors).
                error = e is IOException io && (io.HResult & 0xFFFF) != 0 ? (uint)(io.HResult & 0xFFFF) : uint.MaxValue;
                done = 0;
            }
            callback(error, done, context);
        }
    }
}

/// <summary>FASTER's factory of named devices (the log's commit files) over <see cref="StoreLogDevice"/>; lists and deletes as FASTER's local one does.</summary>
internal sealed class StoreLogDeviceFactory(bool writable) : INamedDeviceFactory
{
    private string _baseName = "";

    public void Initialize(string baseName) => _baseName = baseName;

    public IDevice Get(FileDescriptor fileInfo) => new StoreLogDevice(Path.Combine(_baseName, fileInfo.directoryName, fileInfo.fileName), writable);

    public IEnumerable<FileDescriptor> ListContents(string path)
    {
        var directory = new DirectoryInfo(Path.Combine(_baseName, path));
        if (!directory.Exists) yield break;
        // Newest first, as FASTER's LocalStorageNamedDeviceFactory lists them.
        var directories = directory.GetDirectories();
        Array.Sort(directories, (a, b) => b.LastWriteTimeUtc.CompareTo(a.LastWriteTimeUtc));
        foreach (var item in directories) yield return new FileDescriptor(item.Name, "");
        var files = directory.GetFiles();
        Array.Sort(files, (a, b) => b.LastWriteTimeUtc.CompareTo(a.LastWriteTimeUtc));
        foreach (var item in files) yield return new FileDescriptor("", item.Name);
    }

    public void Delete(FileDescriptor fileInfo)
    {
        string path = Path.Combine(_baseName, fileInfo.directoryName, fileInfo.fileName ?? "");
        var fileSystem = StoreFileSystem.For(path);
        try
        {
            if (fileInfo.fileName != null) fileSystem.Delete(path + ".0");
            else if (Directory.Exists(path)) fileSystem.DeleteDirectory(path);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
