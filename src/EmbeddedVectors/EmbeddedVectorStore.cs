using EmbeddedVectors.Lists;
using EmbeddedVectors.Search;
using EmbeddedVectors.Storage;
using EmbeddedVectors.Training;

namespace EmbeddedVectors;

/// <summary>
/// An embedded, on-disk vector store: a directory holding a manifest, the trained quantizers, immutable
/// memory-mapped segment files of IVFPQ codes, and a FASTER log of payloads that is also the write-ahead log.
/// </summary>
/// <remarks>
/// <para>Threads: any number may search at once, while one writes; a search sees the store as it was when the
/// search began. Writes (add, delete, commit, flush, compact) are serialised.</para>
/// <para>Processes: one process writes at a time (an OS lock on the file <c>LOCK</c>); others may open the store
/// with <see cref="EmbeddedVectorStoreOptions.ReadOnly"/> and see it as of their open.</para>
/// <para>Durability: <see cref="Commit"/> makes every earlier add and delete durable; what it covered survives a
/// process kill. The write buffer is sealed into a segment when it holds
/// <see cref="EmbeddedVectorStoreOptions.SealThreshold"/> entries, on <see cref="Flush"/> and on
/// <see cref="Dispose"/>; until then the log holds it and reopening replays it.</para>
/// </remarks>
public sealed partial class EmbeddedVectorStore : IDisposable
{
    private const string LockFileName = "LOCK";
    private const string LogDirectoryName = "log";
    /// <summary>
    /// Most bytes the per-cell precomputed tables may take (nlist × m × 256 floats, filled a cell at a time on first
    /// probe): 256 MiB, or half of what the GC may use when that is less. The array is allocated whole, and a GC
    /// heap limit (a container's or a memory cgroup's) counts it at once: a store opened in 104 MiB failed with
    /// OutOfMemoryException on a 201 MB table. Without tables, a search computes each probed cell's table from the
    /// query's (a little slower per cell; the same results up to float rounding).
    /// </summary>
    private static long MaxPrecomputedTableBytes => Math.Min(256L << 20, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2);

    private readonly EmbeddedVectorStoreOptions _options;
    private readonly ReadAhead _readAhead;
    private readonly FileStream? _lock;
    private IPayloadLog _log; // replaced only when a failed write leaves FASTER unable to commit (Reload.cs)
    private readonly Lock _writer = new();

    // The writer's state. It changes only under _state's write lock, which readers of ids (Get, Contains, GetInfo)
    // take shared; searches take no lock: they read the published snapshot.
    private readonly ReaderWriterLockSlim _state = new(LockRecursionPolicy.NoRecursion);
    private Manifest _manifest;
    private IvfPqQuantizer? _quantizer;
    private RowCodec? _rowCodec; // int8 rows: the trained offsets and scales segments are written with; else null
    private List<SealedSegment> _segments = [];
    private CodeLists _buffer;
    private Dictionary<long, (int List, int Position)> _bufferIds = [];
    private bool _disposed;
    private volatile bool _disposing;

    private EmbeddedVectorStore(string directory, EmbeddedVectorStoreOptions options, FileStream? lockFile)
    {
        StorePath = directory;
        _options = options;
        _readAhead = new ReadAhead(options.ReadAhead);
        _lock = lockFile;
        // Set by LoadCommittedState.
        _manifest = null!;
        _log = null!;
        _buffer = null!;
        try
        {
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    LoadCommittedState();
                    break;
                }
                // A reader may meet a state its writer has moved past while it loads: a segment a merge deleted, or
                // a log record of fields a newer manifest declares. It loads again from the newer manifest.
                catch (Exception e) when (options.ReadOnly && attempt < ReloadAttempts && IsTransientForReader(e) && ManifestMovedOn(LoadedGeneration()))
                {
                    ReleaseLoadedState();
                }
            }
            // A reader's manifest may also have gone stale without an error while it opened the log (see CatchUpLocked).
            if (options.ReadOnly) lock (_writer) CatchUpLocked();
            lock (_writer) StartMergeIfDueLocked();
        }
        catch
        {
            ReleaseLoadedState();
            Volatile.Read(ref _current)?.Release();
            lockFile?.Dispose();
            throw;
        }
    }

    /// <summary>Reads the manifest, quantizers and segments, opens the log and replays its tail: the committed state.</summary>
    private void LoadCommittedState()
    {
        _manifest = Manifest.Read(StorePath);
        (_quantizer, _rowCodec) = ReadQuantizers(ref _manifest);
        OpenSegments(_manifest, _segments);
        _log = OpenLog();
        _buffer = NewBuffer(_quantizer, _manifest);
        _bufferIds = [];
        _pendingUpsert = null;
        ReplayAndPublishLocked(_manifest.SealedUntilAddress);
    }

    /// <summary>Undoes what <see cref="LoadCommittedState"/> opened (the constructor failed, or a reader loads again).</summary>
    private void ReleaseLoadedState()
    {
        _log?.Dispose();
        _log = null!;
        foreach (var segment in _segments) segment.Release();
        _segments = [];
    }

    /// <summary>
    /// Whether the manifest on disk is another than the one of <paramref name="generation"/> (null: none was read):
    /// then a failure met while loading may be the writer's doing, and loading again can succeed. Otherwise the
    /// failure is the store's and is reported at once.
    /// </summary>
    private bool ManifestMovedOn(long? generation)
    {
        if (generation is not long loaded) return false;
        try { return Manifest.Read(StorePath).Generation != loaded; }
        catch (Exception e) when (IsTransientForReader(e)) { return false; }
    }

    /// <summary>The generation of the manifest loaded so far; null when none has been read yet.</summary>
    private long? LoadedGeneration() => _manifest is null ? null : _manifest.Generation;

    /// <summary>Failures a read-only open may meet because the writer changed the store meanwhile; a newer format is not one.</summary>
    private static bool IsTransientForReader(Exception e)
        => e is IOException || (e is CorruptFileException && e is not NewerFormatVersionException);

    /// <summary>The store's directory.</summary>
    public string StorePath { get; }

    /// <summary>Length of every vector.</summary>
    public int Dimension => _manifest.Dimension;

    /// <summary>The declared metadata fields (see <see cref="EmbeddedVectorStoreOptions.Fields"/>).</summary>
    public IReadOnlyList<FieldDefinition> Fields => _manifest.Fields;

    /// <summary>How nearness is measured.</summary>
    public Metric Metric => _manifest.Metric;

    /// <summary>True once the quantizers are trained (before that, search is exact).</summary>
    public bool IsTrained => _quantizer != null;

    /// <summary>True when opened with <see cref="EmbeddedVectorStoreOptions.ReadOnly"/>.</summary>
    public bool IsReadOnly => _options.ReadOnly;

    /// <summary>Live entries (added and not deleted).</summary>
    public long Count
    {
        get
        {
            ThrowIfDisposed();
            return Volatile.Read(ref _current).LiveCount;
        }
    }

    /// <summary>Creates a new store in <paramref name="path"/> (created if missing; it must not already hold a store) and opens it for writing.</summary>
    /// <exception cref="ArgumentException">The options are invalid (dimension, metric, nlist, m).</exception>
    /// <exception cref="EmbeddedVectorsException">A store already exists there.</exception>
    public static EmbeddedVectorStore Create(string path, EmbeddedVectorStoreOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(options);
        options.ValidateForCreate();
        if (options.ReadOnly) throw new ArgumentException("A store cannot be created read-only.", nameof(options));
        string directory = Path.GetFullPath(path);
        DurableDirectory.Create(directory);
        var lockFile = AcquireWriteLock(directory);
        try
        {
            if (Manifest.Exists(directory))
                throw new EmbeddedVectorsException($"{directory} already holds an EmbeddedVectors store. Open it with EmbeddedVectorStore.Open, or choose another directory.");
            new Manifest
            {
                Dimension = options.Dimension,
                Metric = options.Metric,
                NList = options.NList,
                M = options.EffectiveM,
                CodeLayout = options.Codes == VectorCodes.Pq4FastScan ? CodeLayout.Pq4FastScan : CodeLayout.Pq8,
                Opq = options.Opq,
                StoreVectors = options.StoreVectors,
                Rows = options.StoreVectors ? options.Rows : RowEncoding.Float32,
                TrainingThreshold = options.EffectiveTrainingThreshold,
                SealThreshold = options.EffectiveSealThreshold,
                LogSegmentBits = options.LogSegmentBits,
                Fields = [.. options.Fields],
            }.Write(directory);
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
        return new EmbeddedVectorStore(directory, options, lockFile);
    }

    /// <summary>Opens an existing store. Only <see cref="EmbeddedVectorStoreOptions.ReadOnly"/>, <c>AutoRefresh</c>, <c>SealThreshold</c>, <c>MergeFactor</c>, <c>KeepNewestSealInLog</c> and <c>KMeans</c> of <paramref name="options"/> apply.</summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="CorruptFileException">The directory is not a store, a file is damaged, or it was written by a newer version.</exception>
    /// <exception cref="EmbeddedVectorsException">Another process has the store open for writing.</exception>
    public static EmbeddedVectorStore Open(string path, EmbeddedVectorStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= new EmbeddedVectorStoreOptions();
        options.ValidateForOpen();
        string directory = Path.GetFullPath(path);
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"No store at {directory}: the directory does not exist.");
        if (!Manifest.Exists(directory))
            throw new CorruptFileException(Path.Combine(directory, Manifest.FileName), "missing: this directory is not an EmbeddedVectors store.");
        var lockFile = options.ReadOnly ? null : AcquireWriteLock(directory);
        return new EmbeddedVectorStore(directory, options, lockFile);
    }

    /// <summary>True when the directory <paramref name="path"/> holds an EmbeddedVectors store (its manifest).</summary>
    /// <param name="path">The store's directory; it need not exist.</param>
    /// <returns>False when the directory does not exist, is not a store, or <paramref name="path"/> is empty.</returns>
    public static bool Exists(string path)
        => !string.IsNullOrWhiteSpace(path) && Manifest.Exists(Path.GetFullPath(path));

    /// <summary>Opens the store in <paramref name="path"/>, or creates it there with <paramref name="options"/> when none exists.</summary>
    public static EmbeddedVectorStore OpenOrCreate(string path, EmbeddedVectorStoreOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return Manifest.Exists(Path.GetFullPath(path)) ? Open(path, options) : Create(path, options);
    }

    /// <summary>Seals the write buffer (so the next open needs no replay), makes everything durable and closes the files.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        // A background merge ends by taking the writer lock: stop it and wait for it before taking that lock.
        _disposing = true;
        _mergeCancel.Cancel();
        while (Volatile.Read(ref _merge) is { IsCompleted: false } merge)
        {
            try { merge.Wait(); }
            catch (AggregateException) { }
        }
        lock (_writer)
        {
            if (_disposed) return;
            try
            {
                if (!IsReadOnly && _broken == null)
                {
                    SealLocked();
                    _log.Commit();
                    TruncateLogWhenUnpinnedLocked();
                }
            }
            catch (Exception e) when (WriteFailures.IsWriteFailure(e))
            {
                throw WriteFailures.Describe(e, StorePath, "seal at close");
            }
            finally
            {
                _disposed = true;
                // Searches still running keep their snapshot, and with it the segments they scan, until they end.
                foreach (var segment in _segments) segment.Release();
                _current.Release();
                _log.Dispose();
                _lock?.Dispose();
            }
        }
    }

    private static FileStream AcquireWriteLock(string directory)
    {
        try
        {
            // FileShare.None takes an exclusive advisory lock (flock on Unix), released by the OS when the process dies.
            return new FileStream(Path.Combine(directory, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        // EWOULDBLOCK (Unix) and ERROR_SHARING_VIOLATION / ERROR_LOCK_VIOLATION (Windows): the lock is taken.
        catch (IOException e) when (e.HResult is 11 or unchecked((int)0x80070020) or unchecked((int)0x80070021))
        {
            throw new EmbeddedVectorsException(
                $"The store at {directory} is open for writing by another process (or another EmbeddedVectorStore in this one). Only one writer is allowed; open it with ReadOnly = true to read alongside.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EmbeddedVectorsException(
                $"The store at {directory} cannot be opened for writing: its lock file cannot be created or written ({e.Message}). A store on a read-only directory or disk can be opened with ReadOnly = true.", e);
        }
    }

    private bool FastScanCodes => _manifest.CodeLayout == CodeLayout.Pq4FastScan;

    /// <summary>This open's seal threshold: the option when given, else the one recorded at creation.</summary>
    private int SealThreshold => _options.SealThreshold > 0 ? _options.SealThreshold : _manifest.SealThreshold;

    /// <summary>An empty write buffer for the state <paramref name="manifest"/> describes (its fields become the buffer's columns).</summary>
    private CodeLists NewBuffer(IvfPqQuantizer? quantizer, Manifest manifest)
        => quantizer == null
            ? new CodeLists(1, Dimension, 0, keepRows: true, packed: false, manifest.Fields)
            : new CodeLists(manifest.NList, Dimension, quantizer.CodeSize, manifest.StoreVectors, packed: FastScanCodes, manifest.Fields);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private void ThrowIfReadOnly()
    {
        ThrowIfDisposed();
        if (IsReadOnly) throw new InvalidOperationException($"The store at {StorePath} was opened read-only.");
        if (_broken != null) throw new EmbeddedVectorsException($"{_broken.Message} The store could not recover from it: dispose it and open it again.", _broken);
    }
}
