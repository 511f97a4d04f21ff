using System.Collections.Concurrent;
using FASTER.core;
using Microsoft.Win32.SafeHandles;

namespace EmbeddedVectors.Storage;

/// <summary>
/// The on-disk <see cref="IPayloadLog"/>: a <see cref="FasterLog"/> (FASTER 2.6.5) in one directory, holding
/// <see cref="LogRecordKind.Upsert"/>, <see cref="LogRecordKind.Delete"/> and
/// <see cref="LogRecordKind.PayloadCopy"/> records framed by <see cref="LogRecordFormat"/>, each guarded by
/// FasterLog's per-entry checksum. Its addresses are FasterLog's logical addresses (byte offsets into the log;
/// the first record of a new log is at 64).
/// </summary>
/// <remarks>
/// <para>
/// The class is split by role: this file opens the log (settings, recovery), commits and disposes;
/// <c>FasterPayloadLog.Append.cs</c> appends; <c>FasterPayloadLog.Read.cs</c> reads records by address from the
/// segment files, with <see cref="FasterEntryHeader"/> (the FASTER 2.6.5 entry header and checksum);
/// <c>FasterPayloadLog.Replay.cs</c> scans; <c>FasterPayloadLog.View.cs</c> truncates and refreshes read-only views.
/// </para>
/// <para>
/// Durability is exactly "up to the last completed commit": <see cref="Commit"/> returns once every record
/// appended before it is on disk, and opening the directory again recovers to the last commit. Records appended
/// after it may or may not come back after a crash or a <see cref="Dispose"/> without a commit.
/// </para>
/// <para>
/// Threads: FasterLog's enqueue is lock-free and safe from many threads at once (each append takes FASTER's
/// epoch protection only while it reserves and fills its slot in the page), and its commits are serialised
/// inside FasterLog, so appends and commits may come from any threads. Reads (<see cref="ReadPayload"/>,
/// <see cref="ReadVector"/>) are positional reads of immutable, already-flushed bytes on shared read-only file
/// handles, so any number of threads may read while others append. Each <see cref="Replay"/> has its own
/// iterator. Only <see cref="Dispose"/> must not race with anything else.
/// </para>
/// <para>
/// Reads do not use FasterLog.ReadAsync, the only random read FASTER 2.6.5 offers (there is no synchronous
/// one): it returns nothing at or past <c>CommittedUntilAddress</c>, even for a record still in memory, and each
/// call runs a <c>Task.Run</c> plus a thread-pool file read, so blocking on it from several threads starves the
/// thread pool (measured on this 2-core machine: 4 blocked readers took 0.9-3 s for 8,000 reads against 14 µs per
/// read on one thread). Instead a read takes the record's bytes straight from its segment file (FasterLog's
/// logical address is the byte offset: page size is a multiple of the sector size, so FASTER adds no page
/// padding) with <see cref="RandomAccess.Read(SafeFileHandle, Span{byte}, long)"/>, and checks FASTER's
/// per-entry header (<see cref="FasterEntryHeader"/>): the length must fit the page and the flushed log, and the
/// checksum must match. A record not yet flushed is made readable by a commit first (which only makes more
/// durable); FASTER offers no way to read its in-memory pages.
/// </para>
/// <para>
/// Read-only mode (<c>Open(directory, readOnly: true)</c>) uses <see cref="FasterLogSettings.ReadOnlyMode"/>,
/// FASTER's "viewer of a log another instance commits" mode, and works in this process or another. It never
/// appends, commits, truncates or deletes commit files (FASTER turns outdated-commit removal off in that mode),
/// keeps no pages in memory, and reads everything from the files. It sees the writer's commits as of its last
/// <see cref="Refresh"/> (FasterLog.RecoverReadOnly); <see cref="Replay"/> refreshes first, and a read of an
/// address past the view refreshes once. Two FASTER quirks are handled here: a refresh that lists a commit file
/// the writer deletes before it is read falls back to "no commit" for a moment, so refreshes retry and are
/// serialised against scans with a lock (read-only mode only); and FASTER's device opens segment files with
/// <see cref="FileMode.OpenOrCreate"/>, so reads here open them with <see cref="FileMode.Open"/> and scans start
/// at the refreshed begin address. A scan racing with the writer's deletion of a truncated segment could still
/// make FASTER's device recreate that file empty; compaction therefore should not truncate while a viewer replays.
/// </para>
/// </remarks>
internal sealed partial class FasterPayloadLog : IPayloadLog
{
    // Settings. They must be the same every time a log is opened, so they are constants (the segment size can
    // be changed by an internal overload of Open, for tests only).
    //  - 4 MiB pages (PageSizeBits 22): FASTER's default. A record must fit in one page together with FASTER's
    //    12-byte entry header, so this caps a record (our framing + vector + payload) at 4 MiB - 12 bytes.
    //    Larger pages would allow bigger payloads but make every scan buffer (two pages per Replay) bigger.
    //  - 32 MiB of log memory (MemorySizeBits 25): 8 pages, enough for bursts of appends to keep filling pages
    //    while earlier ones are being flushed, yet small for an embedded library. (Read-only mode keeps none.)
    //  - 256 MiB segment files (SegmentSizeBits 28): truncation gives disk space back a whole segment at a time,
    //    so this is the granularity at which compaction frees space, while keeping the file count small.
    //  - LogChecksumType.PerEntry: FASTER's 8-byte checksum per record, verified on every read from disk.
    internal const int PageSizeBits = 22;
    internal const int MemorySizeBits = 25;
    internal const int SegmentSizeBits = 28;

    private const long PageSize = 1L << PageSizeBits;

    /// <summary>
    /// The largest record this log accepts, in bytes of our framing: FasterLog requires the entry plus its
    /// 12-byte header (rounded up to 4 bytes) to fit in one page. Every <see cref="IPayloadLog"/> keeps this limit.
    /// </summary>
    internal const int MaxRecordBytes = (int)PageSize - FasterEntryHeader.Bytes;

    /// <summary>The segment files are this name plus ".0", ".1", …; commits go to <c>log-commits/</c> beside them.</summary>
    internal const string LogFileName = "wal.log";

    private readonly IDevice _device;
    private readonly FasterLog _log;
    private readonly FasterCommitFiles _commits;
    private readonly bool _readOnly;
    private readonly int _segmentSizeBits;
    private readonly string _segmentPathPrefix;
    private readonly ConcurrentDictionary<long, SafeFileHandle> _segments = new();

    /// <summary>Read-only mode: serialises <see cref="Refresh"/> against the steps of a scan.</summary>
    private readonly ReaderWriterLockSlim? _viewLock;

    // Read-only mode: the view as of the last successful refresh (FasterLog's own fields dip during one).
    private long _viewBegin;
    private long _viewCommitted;

    /// <summary>How many bytes the first read of a record takes: the last record's size, so most reads take one call.</summary>
    private int _readHint = 4096;
    private volatile bool _disposed;

    private FasterPayloadLog(string directory, IDevice device, FasterLog log, FasterCommitFiles commits, bool readOnly, int segmentSizeBits)
    {
        _commits = commits;
        Directory = directory;
        _device = device;
        _log = log;
        _readOnly = readOnly;
        _segmentSizeBits = segmentSizeBits;
        _segmentPathPrefix = Path.Combine(directory, LogFileName) + ".";
        if (readOnly)
        {
            _viewLock = new ReaderWriterLockSlim(LockRecursionPolicy.NoRecursion);
            _viewBegin = Math.Max(log.BeginAddress, log.CommittedBeginAddress);
            _viewCommitted = log.CommittedUntilAddress;
        }
    }

    /// <summary>
    /// Opens the log in <paramref name="directory"/>, creating the directory when it is missing (except in
    /// read-only mode), and recovers to the last commit.
    /// </summary>
    /// <param name="directory">The log's own directory (the store passes a subdirectory of its directory).</param>
    /// <param name="readOnly">
    /// Open as a viewer of a log that another instance (possibly in another process) writes: nothing is ever
    /// written, and appends, commits and truncation throw <see cref="InvalidOperationException"/>.
    /// </param>
    /// <exception cref="DirectoryNotFoundException"><paramref name="readOnly"/> is true and the directory does not exist.</exception>
    /// <exception cref="CorruptFileException">The last commit cannot be recovered.</exception>
    public static FasterPayloadLog Open(string directory, bool readOnly = false) => Open(directory, readOnly, SegmentSizeBits);

    /// <summary>
    /// <see cref="Open(string, bool)"/> with another segment size (2^<paramref name="segmentSizeBits"/> bytes, at
    /// least one page): for tests that need several segments. A log must always be opened with the same size.
    /// </summary>
    internal static FasterPayloadLog Open(string directory, bool readOnly, int segmentSizeBits)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentOutOfRangeException.ThrowIfLessThan(segmentSizeBits, PageSizeBits);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(segmentSizeBits, 40);
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("The payload log stores little-endian values and supports little-endian machines only.");

        string fullPath = Path.GetFullPath(directory);
        if (readOnly)
        {
            if (!System.IO.Directory.Exists(fullPath))
                throw new DirectoryNotFoundException($"{fullPath}: the log directory does not exist, so it cannot be opened read-only.");
        }
        else
        {
            DurableDirectory.Create(fullPath);
        }

        IDevice device = new StoreLogDevice(Path.Combine(fullPath, LogFileName), writable: !readOnly);
        FasterLog? log = null;
        var commits = new FasterCommitFiles(fullPath, writer: !readOnly);
        try
        {
            log = new FasterLog(new FasterLogSettings
            {
                LogDevice = device,
                LogCommitDir = fullPath,
                LogCommitManager = commits,
                RemoveOutdatedCommits = false, // FasterCommitFiles removes them, once the newer one reads back
                PageSizeBits = PageSizeBits,
                MemorySizeBits = MemorySizeBits,
                SegmentSizeBits = segmentSizeBits,
                LogChecksum = LogChecksumType.PerEntry,
                ReadOnlyMode = readOnly,
                GetMemory = ScanBuffer,
                // Recover explicitly below: the constructor's own recovery swallows every exception and would
                // silently start an empty log (whose appends then overwrite the old records) on a damaged one.
                TryRecoverLatest = false,
            });
            if (log.HeaderSize != FasterEntryHeader.Bytes)
                throw new InvalidOperationException($"FasterLog's entry header is {log.HeaderSize} bytes, not the {FasterEntryHeader.Bytes} this code reads.");
            try
            {
                log.Recover();
            }
            catch (Exception e) when (e is FasterException or IOException)
            {
                throw new CorruptFileException(fullPath, $"the log cannot be recovered to its last commit: {e.Message}");
            }
            return new FasterPayloadLog(fullPath, device, log, commits, readOnly, segmentSizeBits);
        }
        catch
        {
            log?.Dispose();
            commits.Dispose();
            device.Dispose();
            throw;
        }
    }

    /// <summary>The log's directory, as a full path.</summary>
    public string Directory { get; }

    /// <summary>Whether the log was opened read-only.</summary>
    public bool IsReadOnly => _readOnly;

    /// <summary>The address of the first record still in the log (it moves forward with <see cref="TruncateUntil"/>).</summary>
    public long BeginAddress => _readOnly ? Volatile.Read(ref _viewBegin) : _log.BeginAddress;

    /// <summary>
    /// The address the next record will get (FasterLog's tail). In read-only mode, where nothing is appended,
    /// the end of the committed view.
    /// </summary>
    public long TailAddress => _readOnly ? Volatile.Read(ref _viewCommitted) : _log.TailAddress;

    /// <summary>Every record before this address is durable (in read-only mode: as of the last <see cref="Refresh"/>).</summary>
    public long CommittedUntilAddress => _readOnly ? Volatile.Read(ref _viewCommitted) : _log.CommittedUntilAddress;


    /// <summary>Commits: returns once every record appended before the call is durable (FasterLog's spin-wait commit).</summary>
    public void Commit()
    {
        ThrowIfNotWritable();
        _log.Commit(spinWait: true);
        ThrowIfCommitFileFailed();
    }

    /// <summary>Commits: completes once every record appended before the call is durable.</summary>
    public async ValueTask CommitAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfNotWritable();
        await _log.CommitAsync(cancellationToken).ConfigureAwait(false);
        ThrowIfCommitFileFailed();
    }

    /// <summary>A commit FASTER thinks done whose commit file did not reach the disk is not durable: say so.</summary>
    private void ThrowIfCommitFileFailed()
    {
        if (_commits.Failure is { } failure) throw new IOException(failure.Message, failure);
    }

    /// <summary>
    /// Disposes the log, then its device. Does not commit (as FasterLog itself does not): records appended since
    /// the last <see cref="Commit"/> may be lost. Must not race with other calls.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _log.Dispose();
        _commits.Dispose();
        _device.Dispose();
        foreach (long segment in _segments.Keys)
        {
            if (_segments.TryRemove(segment, out SafeFileHandle? handle))
                handle.Dispose();
        }
        _viewLock?.Dispose();
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private void ThrowIfNotWritable()
    {
        ThrowIfDisposed();
        if (_readOnly)
            throw LogRecordFormat.ReadOnlyLog(Directory);
    }
}
