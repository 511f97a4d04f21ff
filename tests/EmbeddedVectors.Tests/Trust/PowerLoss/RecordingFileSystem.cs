using EmbeddedVectors.Storage;

namespace EmbeddedVectors.Tests.Trust.PowerLoss;

/// <summary>What one recorded operation did to the file system.</summary>
internal enum FileOpKind
{
    /// <summary>A name now refers to a new, empty file (<see cref="FileOp.Inode"/>).</summary>
    Link,
    /// <summary>A directory was created.</summary>
    MakeDirectory,
    /// <summary>A name was removed (a directory: with everything under it).</summary>
    Unlink,
    /// <summary>A name was renamed over another.</summary>
    Rename,
    /// <summary>Bytes written at an offset of a file.</summary>
    Write,
    /// <summary>A file's length was set.</summary>
    SetLength,
    /// <summary>A file's data was made durable (fsync): a flush boundary.</summary>
    Sync,
    /// <summary>A directory's entries were made durable: a flush boundary.</summary>
    SyncDirectory,
}

/// <summary>One recorded operation. Paths are relative to the recorded root, with '/' separators.</summary>
internal sealed record FileOp(FileOpKind Kind, string Path = "", string Target = "", int Inode = -1, long Offset = 0, byte[]? Data = null)
{
    /// <summary>The directory whose entries this name operation changes.</summary>
    public string Directory => ParentOf(Kind == FileOpKind.Rename ? Target : Path);

    public bool IsBarrier => Kind is FileOpKind.Sync or FileOpKind.SyncDirectory;

    public bool IsNameOp => Kind is FileOpKind.Link or FileOpKind.MakeDirectory or FileOpKind.Unlink or FileOpKind.Rename;

    public static string ParentOf(string path)
    {
        int slash = path.LastIndexOf('/');
        return slash < 0 ? "" : path[..slash];
    }
}

/// <summary>
/// An <see cref="IStoreFileSystem"/> for tests: does everything on the real file system (so the store runs and
/// reads its files as usual) and records, in order, every write, length change, fsync, creation, rename,
/// deletion and directory sync under its root, with the bytes written, for <see cref="CrashStates"/> to replay.
/// </summary>
internal sealed class RecordingFileSystem : IStoreFileSystem
{
    private readonly string _root;
    private readonly List<FileOp> _ops = [];
    private readonly Dictionary<string, int> _inodes = new(StringComparer.Ordinal); // the current name → file map
    private readonly Lock _lock = new();
    private int _nextInode;

    public RecordingFileSystem(string root) => _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));

    /// <summary>Operations recorded so far (a copy).</summary>
    public List<FileOp> Operations
    {
        get { lock (_lock) return [.. _ops]; }
    }

    /// <summary>How many operations have been recorded: a commit acknowledged now covers every one before this.</summary>
    public int Count
    {
        get { lock (_lock) return _ops.Count; }
    }

    public StoreFile Create(string path, long preallocate = 0)
    {
        lock (_lock)
        {
            var file = RealFileSystem.Instance.Create(path, preallocate);
            string name = Relative(path);
            if (_inodes.TryGetValue(name, out int inode))
            {
                _ops.Add(new FileOp(FileOpKind.SetLength, name, Inode: inode, Offset: 0));
            }
            else
            {
                inode = _nextInode++;
                _inodes[name] = inode;
                _ops.Add(new FileOp(FileOpKind.Link, name, Inode: inode));
            }
            if (preallocate > 0) _ops.Add(new FileOp(FileOpKind.SetLength, name, Inode: inode, Offset: preallocate));
            return new RecordingFile(this, file, name, inode, writeThrough: false);
        }
    }

    public StoreFile OpenLogFile(string path, bool writable)
    {
        if (!writable) return RealFileSystem.Instance.OpenLogFile(path, writable);
        lock (_lock)
        {
            var file = RealFileSystem.Instance.OpenLogFile(path, writable);
            string name = Relative(path);
            if (!_inodes.TryGetValue(name, out int inode))
            {
                inode = _nextInode++;
                _inodes[name] = inode;
                _ops.Add(new FileOp(FileOpKind.Link, name, Inode: inode));
            }
            return new RecordingFile(this, file, name, inode, writeThrough: true);
        }
    }

    public void Move(string source, string destination)
    {
        lock (_lock)
        {
            RealFileSystem.Instance.Move(source, destination);
            string from = Relative(source), to = Relative(destination);
            if (FileOp.ParentOf(from) != FileOp.ParentOf(to)) throw new InvalidOperationException($"the recorder models renames within one directory only: {from} → {to}");
            _inodes[to] = _inodes[from];
            _inodes.Remove(from);
            _ops.Add(new FileOp(FileOpKind.Rename, from, to));
        }
    }

    public void Delete(string path)
    {
        lock (_lock)
        {
            RealFileSystem.Instance.Delete(path);
            string name = Relative(path);
            if (_inodes.Remove(name)) _ops.Add(new FileOp(FileOpKind.Unlink, name));
        }
    }

    public void CreateDirectory(string path)
    {
        lock (_lock)
        {
            // Directory.CreateDirectory creates missing parents too: record each, outermost first.
            var created = new Stack<string>();
            for (string? missing = Path.GetFullPath(path); missing != null && !Directory.Exists(missing) && missing.Length > _root.Length; missing = Path.GetDirectoryName(missing))
                created.Push(missing);
            RealFileSystem.Instance.CreateDirectory(path);
            while (created.Count > 0) _ops.Add(new FileOp(FileOpKind.MakeDirectory, Relative(created.Pop())));
        }
    }

    public void DeleteDirectory(string path)
    {
        lock (_lock)
        {
            RealFileSystem.Instance.DeleteDirectory(path);
            string name = Relative(path);
            foreach (var key in _inodes.Keys.Where(key => key.StartsWith(name + "/", StringComparison.Ordinal)).ToList()) _inodes.Remove(key);
            _ops.Add(new FileOp(FileOpKind.Unlink, name));
        }
    }

    public void SyncDirectory(string directory)
    {
        lock (_lock)
        {
            RealFileSystem.Instance.SyncDirectory(directory);
            _ops.Add(new FileOp(FileOpKind.SyncDirectory, Relative(directory)));
        }
    }

    private string Relative(string path)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (full == _root) return "";
        if (!full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal)) throw new InvalidOperationException($"{full} is outside the recorded root {_root}");
        return full[(_root.Length + 1)..].Replace(Path.DirectorySeparatorChar, '/');
    }

    private sealed class RecordingFile(RecordingFileSystem owner, StoreFile inner, string name, int inode, bool writeThrough) : StoreFile
    {
        public override string Path => inner.Path;

        public override long Length => inner.Length;

        public override void SetLength(long length)
        {
            lock (owner._lock)
            {
                inner.SetLength(length);
                owner._ops.Add(new FileOp(FileOpKind.SetLength, name, Inode: inode, Offset: length));
            }
        }

        public override void Write(ReadOnlySpan<byte> bytes, long offset)
        {
            lock (owner._lock)
            {
                inner.Write(bytes, offset);
                owner._ops.Add(new FileOp(FileOpKind.Write, name, Inode: inode, Offset: offset, Data: bytes.ToArray()));
                // A write-through (O_SYNC) write is durable when it returns: a flush boundary of its own.
                if (writeThrough) owner._ops.Add(new FileOp(FileOpKind.Sync, name, Inode: inode));
            }
        }

        public override int Read(Span<byte> buffer, long offset) => inner.Read(buffer, offset);

        public override void Sync()
        {
            lock (owner._lock)
            {
                inner.Sync();
                owner._ops.Add(new FileOp(FileOpKind.Sync, name, Inode: inode));
            }
        }

        public override void Dispose() => inner.Dispose();
    }
}
