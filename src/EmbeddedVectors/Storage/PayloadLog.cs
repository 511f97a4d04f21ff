using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using FASTER.core;
using Microsoft.Win32.SafeHandles;

namespace EmbeddedVectors.Storage;

/// <summary>
/// The store's write-ahead log and payload store: a <see cref="FasterLog"/> (FASTER 2.6.5) in one directory,
/// holding <see cref="LogRecordKind.Upsert"/>, <see cref="LogRecordKind.Delete"/> and
/// <see cref="LogRecordKind.PayloadCopy"/> records framed by <see cref="LogRecordFormat"/>, each guarded by
/// FasterLog's per-entry checksum.
/// </summary>
/// <remarks>
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
/// per-entry header: the length must fit the page and the flushed log, and the checksum must match, computed
/// with FASTER's own <see cref="Utility.XorBytes"/>. A record not yet flushed is made readable by a commit
/// first (which only makes more durable); FASTER offers no way to read its in-memory pages.
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
internal sealed class PayloadLog : IDisposable
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

    /// <summary>FasterLog's per-entry header with <see cref="LogChecksumType.PerEntry"/>: an 8-byte checksum, then a 4-byte length.</summary>
    private const int EntryHeaderBytes = 12;

    private const long PageSize = 1L << PageSizeBits;

    /// <summary>
    /// The largest record this log accepts, in bytes of our framing: FasterLog requires the entry plus its
    /// 12-byte header (rounded up to 4 bytes) to fit in one page.
    /// </summary>
    internal const int MaxRecordBytes = (int)PageSize - EntryHeaderBytes;

    /// <summary>The segment files are this name plus ".0", ".1", …; commits go to <c>log-commits/</c> beside them.</summary>
    internal const string LogFileName = "wal.log";

    private const int MinReadBytes = 512;
    private const int MaxFirstReadBytes = 64 * 1024;
    private const int InitialScanBufferBytes = 64 * 1024;
    private const int MaxKeptScanBufferBytes = 1 << 20;

    /// <summary>The buffer the <see cref="Replay"/> running on this thread receives entries in.</summary>
    [ThreadStatic] private static byte[]? t_scanBuffer;

    /// <summary>A scan buffer kept between <see cref="Replay"/> calls on this thread.</summary>
    [ThreadStatic] private static byte[]? t_spareScanBuffer;

    private readonly IDevice _device;
    private readonly FasterLog _log;
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

    private PayloadLog(string directory, IDevice device, FasterLog log, bool readOnly, int segmentSizeBits)
    {
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
    public static PayloadLog Open(string directory, bool readOnly = false) => Open(directory, readOnly, SegmentSizeBits);

    /// <summary>
    /// <see cref="Open(string, bool)"/> with another segment size (2^<paramref name="segmentSizeBits"/> bytes, at
    /// least one page): for tests that need several segments. A log must always be opened with the same size.
    /// </summary>
    internal static PayloadLog Open(string directory, bool readOnly, int segmentSizeBits)
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
            System.IO.Directory.CreateDirectory(fullPath);
        }

        IDevice device = Devices.CreateLogDevice(Path.Combine(fullPath, LogFileName), preallocateFile: false, deleteOnClose: false);
        FasterLog? log = null;
        try
        {
            log = new FasterLog(new FasterLogSettings
            {
                LogDevice = device,
                LogCommitDir = fullPath,
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
            if (log.HeaderSize != EntryHeaderBytes)
                throw new InvalidOperationException($"FasterLog's entry header is {log.HeaderSize} bytes, not the {EntryHeaderBytes} this code reads.");
            try
            {
                log.Recover();
            }
            catch (Exception e) when (e is FasterException or IOException)
            {
                throw new CorruptFileException(fullPath, $"the log cannot be recovered to its last commit: {e.Message}");
            }
            return new PayloadLog(fullPath, device, log, readOnly, segmentSizeBits);
        }
        catch
        {
            log?.Dispose();
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

    /// <summary>Appends an upsert of <paramref name="id"/>; returns the record's address, which stays valid until truncated.</summary>
    /// <exception cref="ArgumentException">The record would not fit in a log page (<see cref="MaxRecordBytes"/>).</exception>
    public unsafe long AppendUpsert(long id, ReadOnlySpan<float> vector, ReadOnlySpan<byte> payload)
    {
        ThrowIfNotWritable();
        long length = LogRecordFormat.UpsertLength(vector.Length, payload.Length);
        if (length > MaxRecordBytes)
        {
            long room = MaxRecordBytes - LogRecordFormat.UpsertLength(vector.Length, 0);
            if (room < 0)
                throw new ArgumentException($"vector of {vector.Length} floats is too large: a log record is at most {MaxRecordBytes} bytes.", nameof(vector));
            throw new ArgumentException(
                $"payload of {payload.Length} bytes is too large: a log record is at most {MaxRecordBytes} bytes, which leaves {room} bytes of payload beside a {vector.Length}-float vector.",
                nameof(payload));
        }
        fixed (float* v = vector)
        fixed (byte* p = payload)
            return _log.Enqueue(new UpsertEntry(id, v, vector.Length, p, payload.Length, (int)length));
    }

    /// <summary>Appends a delete of <paramref name="id"/>; returns the record's address.</summary>
    public long AppendDelete(long id)
    {
        ThrowIfNotWritable();
        return _log.Enqueue(new DeleteEntry(id));
    }

    /// <summary>Appends a copy of <paramref name="id"/>'s payload (written by compaction); returns the record's address.</summary>
    /// <exception cref="ArgumentException">The record would not fit in a log page (<see cref="MaxRecordBytes"/>).</exception>
    public unsafe long AppendPayloadCopy(long id, ReadOnlySpan<byte> payload)
    {
        ThrowIfNotWritable();
        long length = LogRecordFormat.PayloadCopyLength(payload.Length);
        if (length > MaxRecordBytes)
        {
            throw new ArgumentException(
                $"payload of {payload.Length} bytes is too large: a log record is at most {MaxRecordBytes} bytes, which leaves {MaxRecordBytes - LogRecordFormat.PayloadCopyOverheadBytes} bytes of payload.",
                nameof(payload));
        }
        fixed (byte* p = payload)
            return _log.Enqueue(new PayloadCopyEntry(id, p, payload.Length, (int)length));
    }

    /// <summary>Appends <paramref name="record"/> as it is, unframed: for tests that need a damaged record.</summary>
    internal long AppendRawForTesting(ReadOnlySpan<byte> record)
    {
        ThrowIfNotWritable();
        if (record.Length > MaxRecordBytes)
            throw new ArgumentException($"record of {record.Length} bytes is too large: a log record is at most {MaxRecordBytes} bytes.", nameof(record));
        return _log.Enqueue(record);
    }

    /// <summary>Commits: returns once every record appended before the call is durable (FasterLog's spin-wait commit).</summary>
    public void Commit()
    {
        ThrowIfNotWritable();
        _log.Commit(spinWait: true);
    }

    /// <summary>Commits: completes once every record appended before the call is durable.</summary>
    public ValueTask CommitAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfNotWritable();
        return _log.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Reads the payload of the <see cref="LogRecordKind.Upsert"/> or <see cref="LogRecordKind.PayloadCopy"/>
    /// record of <paramref name="expectedId"/> at <paramref name="address"/>. A record appended but not yet
    /// flushed is committed first.
    /// </summary>
    /// <exception cref="CorruptFileException">
    /// There is no record at <paramref name="address"/> (truncated, past the end, not a record start, or
    /// damaged), or it is of another kind or another id. The message names the log directory and the address.
    /// </exception>
    public byte[] ReadPayload(long address, long expectedId)
    {
        byte[] buffer = ReadEntry(address, out int length);
        try
        {
            LogRecordView record = LogRecordFormat.Parse(buffer.AsSpan(EntryHeaderBytes, length), address, Directory);
            if (record.Kind is not (LogRecordKind.Upsert or LogRecordKind.PayloadCopy) || record.Id != expectedId)
            {
                throw LogRecordFormat.Corrupt(Directory, address,
                    $"expected an Upsert or PayloadCopy record of id {expectedId}, found a {record.Kind} record of id {record.Id}");
            }
            return record.Payload.IsEmpty ? [] : record.Payload.ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Copies the vector of the <see cref="LogRecordKind.Upsert"/> record of <paramref name="expectedId"/> at
    /// <paramref name="address"/> into <paramref name="destination"/>; returns the vector's length.
    /// </summary>
    /// <exception cref="CorruptFileException">As for <see cref="ReadPayload"/>, or the record is not an Upsert.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than the vector.</exception>
    public int ReadVector(long address, long expectedId, Span<float> destination)
    {
        byte[] buffer = ReadEntry(address, out int length);
        try
        {
            LogRecordView record = LogRecordFormat.Parse(buffer.AsSpan(EntryHeaderBytes, length), address, Directory);
            if (record.Kind != LogRecordKind.Upsert || record.Id != expectedId)
            {
                throw LogRecordFormat.Corrupt(Directory, address,
                    $"expected an Upsert record of id {expectedId}, found a {record.Kind} record of id {record.Id}");
            }
            if (destination.Length < record.Vector.Length)
            {
                throw new ArgumentException(
                    $"destination has room for {destination.Length} floats, but the vector at log address {address} has {record.Vector.Length}.",
                    nameof(destination));
            }
            record.Vector.CopyTo(destination);
            return record.Vector.Length;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Calls <paramref name="handler"/> for every committed record from <paramref name="fromAddress"/> (raised
    /// to <see cref="BeginAddress"/> when below it; otherwise it must be a record's address) to the committed
    /// end as of the call, in log order. Nothing is allocated per record: each entry is copied into a buffer
    /// kept per thread, and the view handed to <paramref name="handler"/> is valid only during the call.
    /// The handler runs outside FASTER's epoch protection, so it may call anything on this log, even append.
    /// In read-only mode, <see cref="Refresh"/> is called first.
    /// </summary>
    /// <exception cref="CorruptFileException">A record is damaged or of an unknown kind or version; the message names its address.</exception>
    public void Replay(long fromAddress, ReplayHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ThrowIfDisposed();
        if (_readOnly)
            Refresh();

        long from = Math.Max(fromAddress, BeginAddress);
        long end = CommittedUntilAddress;
        if (from >= end)
            return;

        // Not TryConsumeNext with an ILogEntryConsumer: FASTER 2.6.5 calls Consume inside its epoch protection
        // without a try/finally, so a throwing handler (or a corrupt record) would leave this thread protected and
        // stall every later flush and commit, and the handler could not safely call back into the log. GetNext
        // with the GetMemory delegate (ScanBuffer) copies each entry into our reused buffer instead: still no
        // allocation per record, and the handler runs unprotected.
        byte[]? outer = t_scanBuffer;                 // a Replay further up this thread's stack, if any
        t_scanBuffer = t_spareScanBuffer ?? new byte[InitialScanBufferBytes];
        t_spareScanBuffer = null;
        try
        {
            using FasterLogScanIterator iterator = _log.Scan(from, end);
            long next = from;
            while (NextEntry(iterator, next, out byte[] entry, out int length, out long address, out next))
            {
                LogRecordView record = LogRecordFormat.Parse(entry.AsSpan(0, length), address, Directory);
                handler(in record);
            }
        }
        finally
        {
            // Keep the buffer for the next Replay on this thread, unless a huge record grew it.
            t_spareScanBuffer = t_scanBuffer is { Length: <= MaxKeptScanBufferBytes } kept ? kept : null;
            t_scanBuffer = outer;
        }
    }

    /// <summary>
    /// Drops every record before <paramref name="address"/> (a record's address, or <see cref="TailAddress"/>),
    /// then commits. Disk space comes back a whole segment file (256 MiB) at a time, shortly after the commit.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="address"/> is past <see cref="TailAddress"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="address"/> is not the start of a record.</exception>
    public void TruncateUntil(long address)
    {
        ThrowIfNotWritable();
        long tail = _log.TailAddress;
        if (address > tail)
            throw new ArgumentOutOfRangeException(nameof(address), address, $"cannot truncate past the log's tail address {tail}.");
        if (address > _log.BeginAddress && address < tail)
        {
            // A begin address inside a record would make every later Replay fail: check that one starts there.
            try
            {
                byte[] buffer = ReadEntry(address, out int length);
                try
                {
                    LogRecordFormat.Parse(buffer.AsSpan(EntryHeaderBytes, length), address, Directory);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            catch (CorruptFileException e)
            {
                throw new ArgumentException($"cannot truncate until address {address}: it is not the start of a record ({e.Problem}).", nameof(address));
            }
        }
        _log.TruncateUntil(address);
        _log.Commit(spinWait: true);
        CloseSegmentsBefore(_log.BeginAddress);
    }

    /// <summary>
    /// Read-only mode: loads the writer's latest commit, so that records committed since are visible.
    /// Does nothing on a writable log.
    /// </summary>
    public void Refresh()
    {
        ThrowIfDisposed();
        if (_viewLock is null)
            return;
        _viewLock.EnterWriteLock();
        try
        {
            long before = Volatile.Read(ref _viewCommitted);
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    _log.RecoverReadOnly();
                }
                catch (FasterException e)
                {
                    throw new CorruptFileException(Directory, $"cannot load the log's latest commit: {e.Message}");
                }
                // The writer removes outdated commit files; one listed but deleted before it was read makes FASTER
                // fall back to "no commit" for this attempt. The next attempt finds the newer file.
                if (_log.CommittedUntilAddress >= before)
                    break;
                if (attempt == 100)
                    throw new EmbeddedVectorsException($"{Directory}: could not load the log's latest commit after {attempt} attempts; the writer may be deleting commit files faster than they can be read.");
                Thread.Sleep(5);
            }
            Volatile.Write(ref _viewBegin, Math.Max(Volatile.Read(ref _viewBegin), Math.Max(_log.BeginAddress, _log.CommittedBeginAddress)));
            Volatile.Write(ref _viewCommitted, _log.CommittedUntilAddress);
        }
        finally
        {
            _viewLock.ExitWriteLock();
        }
        CloseSegmentsBefore(Volatile.Read(ref _viewBegin));
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
        _device.Dispose();
        foreach (long segment in _segments.Keys)
        {
            if (_segments.TryRemove(segment, out SafeFileHandle? handle))
                handle.Dispose();
        }
        _viewLock?.Dispose();
    }

    /// <summary>
    /// Reads the FasterLog entry at <paramref name="address"/> from its segment file into a buffer rented from
    /// <see cref="ArrayPool{T}.Shared"/> (the caller returns it): FASTER's 12-byte header, then
    /// <paramref name="length"/> bytes of entry.
    /// </summary>
    /// <exception cref="CorruptFileException">No valid entry starts at <paramref name="address"/>.</exception>
    private byte[] ReadEntry(long address, out int length)
    {
        ThrowIfDisposed();
        long readableUntil;
        if (_readOnly)
        {
            readableUntil = Volatile.Read(ref _viewCommitted);
            if (address >= readableUntil && address >= 0)
            {
                Refresh();                  // the writer may have committed it since the last refresh
                readableUntil = Volatile.Read(ref _viewCommitted);
            }
        }
        else
        {
            readableUntil = Math.Max(_log.FlushedUntilAddress, _log.CommittedUntilAddress);
            if (address >= readableUntil && address < _log.TailAddress)
            {
                // Still only in FASTER's memory, which it offers no way to read: flush it (by committing) first.
                _log.Commit(spinWait: true);
                readableUntil = Math.Max(_log.FlushedUntilAddress, _log.CommittedUntilAddress);
            }
        }

        for (int attempt = 0; ; attempt++)
        {
            long begin = BeginAddress;
            if (address < begin)
                throw LogRecordFormat.Corrupt(Directory, address, $"no record there: the log begins at address {begin} (earlier records were truncated)");
            if (address >= readableUntil)
                throw LogRecordFormat.Corrupt(Directory, address, $"no record there: the log ends at address {readableUntil}");
            try
            {
                return ReadEntryFromFile(address, readableUntil, out length);
            }
            catch (ObjectDisposedException) when (!_disposed && attempt == 0)
            {
                // The segment's handle was closed by a concurrent truncation: check the begin address again.
            }
        }
    }

    private unsafe byte[] ReadEntryFromFile(long address, long readableUntil, out int length)
    {
        length = 0;
        long roomInPage = PageSize - (address & (PageSize - 1));
        // Entries start 4-byte aligned and leave room for their header in the page.
        if ((address & 3) != 0 || roomInPage < EntryHeaderBytes)
            throw NoRecord(address);
        SafeFileHandle handle = SegmentHandle(address >> _segmentSizeBits)
            ?? throw LogRecordFormat.Corrupt(Directory, address, $"no record there: segment file {SegmentPath(address >> _segmentSizeBits)} is missing");
        long fileOffset = address & ((1L << _segmentSizeBits) - 1);

        int firstRead = (int)Math.Min(roomInPage, Math.Min(readableUntil - address, Volatile.Read(ref _readHint)));
        firstRead = Math.Max(firstRead, EntryHeaderBytes);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(firstRead);
        try
        {
            int got = ReadAt(handle, buffer.AsSpan(0, firstRead), fileOffset);
            if (got < EntryHeaderBytes)
                throw NoRecord(address);
            int entryLength = BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(8));
            // 0 is page padding, a negative length marks one of FASTER's commit records.
            if (entryLength <= 0 || EntryHeaderBytes + ((entryLength + 3L) & ~3L) > roomInPage || address + EntryHeaderBytes + entryLength > readableUntil)
                throw NoRecord(address);
            int total = EntryHeaderBytes + entryLength;
            if (total > got)
            {
                byte[] larger = ArrayPool<byte>.Shared.Rent(total);
                buffer.AsSpan(0, got).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = larger;
                got += ReadAt(handle, buffer.AsSpan(got, total - got), fileOffset + got);
                if (got < total)
                    throw LogRecordFormat.Corrupt(Directory, address, $"the segment file ends inside the record ({got} of {total} bytes)");
            }
            ulong checksum;
            fixed (byte* p = buffer)
                checksum = Utility.XorBytes(p + 8, entryLength + 4);
            if (checksum != BinaryPrimitives.ReadUInt64LittleEndian(buffer))
                throw LogRecordFormat.Corrupt(Directory, address, "checksum mismatch: the record is damaged, or the address is not the start of a record");
            Volatile.Write(ref _readHint, Math.Clamp(total, MinReadBytes, MaxFirstReadBytes));
            length = entryLength;
            return buffer;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private CorruptFileException NoRecord(long address) => LogRecordFormat.Corrupt(Directory, address, "no record starts there");

    /// <summary>Reads until <paramref name="destination"/> is full or the file ends; returns the bytes read.</summary>
    private static int ReadAt(SafeFileHandle handle, Span<byte> destination, long fileOffset)
    {
        int total = 0;
        while (total < destination.Length)
        {
            int n = RandomAccess.Read(handle, destination.Slice(total), fileOffset + total);
            if (n == 0)
                break;
            total += n;
        }
        return total;
    }

    private string SegmentPath(long segment) => _segmentPathPrefix + segment.ToString(CultureInfo.InvariantCulture);

    /// <summary>A shared read-only handle to segment file <paramref name="segment"/>, or null when the file does not exist.</summary>
    private SafeFileHandle? SegmentHandle(long segment)
    {
        while (true)
        {
            if (_segments.TryGetValue(segment, out SafeFileHandle? handle))
                return handle;
            SafeFileHandle opened;
            try
            {
                // FileMode.Open: never create a file (FASTER's own device would); FileShare.Delete: let FASTER
                // delete a truncated segment while we hold it open.
                opened = File.OpenHandle(SegmentPath(segment), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            }
            catch (FileNotFoundException)
            {
                return null;
            }
            if (_segments.TryAdd(segment, opened))
            {
                if (_disposed && _segments.TryRemove(segment, out SafeFileHandle? late))
                    late.Dispose();
                return opened;
            }
            opened.Dispose();
        }
    }

    /// <summary>Closes the handles of segments wholly before <paramref name="beginAddress"/>, so their disk space can go.</summary>
    private void CloseSegmentsBefore(long beginAddress)
    {
        long firstKept = beginAddress >> _segmentSizeBits;
        foreach (long segment in _segments.Keys)
        {
            if (segment < firstKept && _segments.TryRemove(segment, out SafeFileHandle? handle))
                handle.Dispose();
        }
    }

    /// <summary>
    /// The iterator's next entry (in the scan buffer), with FASTER's errors reported as corruption of the record
    /// at <paramref name="expected"/>, where the previous one ended.
    /// </summary>
    private bool NextEntry(FasterLogScanIterator iterator, long expected, out byte[] entry, out int length, out long address, out long next)
    {
        _viewLock?.EnterReadLock();
        try
        {
            return iterator.GetNext(out entry, out length, out address, out next);
        }
        catch (FasterException e)
        {
            // A checksum mismatch or an impossible length while scanning.
            throw LogRecordFormat.Corrupt(Directory, expected, $"FasterLog cannot read the record there: {e.Message}");
        }
        finally
        {
            _viewLock?.ExitReadLock();
        }
    }

    /// <summary>FasterLog's GetMemory delegate: the scan buffer of the Replay on this thread, grown when needed.</summary>
    private static byte[] ScanBuffer(int minLength)
    {
        byte[]? buffer = t_scanBuffer;
        if (buffer is null)
            return new byte[minLength];                 // not called from Replay (no FasterLog path we use does that)
        if (buffer.Length < minLength)
            t_scanBuffer = buffer = new byte[Math.Max(minLength, buffer.Length * 2)];
        return buffer;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private void ThrowIfNotWritable()
    {
        ThrowIfDisposed();
        if (_readOnly)
            throw new InvalidOperationException($"{Directory}: the log is open read-only; it cannot be appended to, committed or truncated.");
    }

    // Entries FasterLog serialises straight into its page (no intermediate buffer). They hold pointers to spans
    // pinned by the caller for the duration of the synchronous Enqueue call. SerializeTo runs inside FASTER's
    // epoch protection and must not throw: the lengths are checked before.

    private readonly unsafe struct UpsertEntry(long id, float* vector, int dimension, byte* payload, int payloadLength, int length) : ILogEnqueueEntry
    {
        public int SerializedLength => length;

        public void SerializeTo(Span<byte> dest) =>
            LogRecordFormat.WriteUpsert(dest.Slice(0, length), id, new ReadOnlySpan<float>(vector, dimension), new ReadOnlySpan<byte>(payload, payloadLength));
    }

    private readonly struct DeleteEntry(long id) : ILogEnqueueEntry
    {
        public int SerializedLength => LogRecordFormat.DeleteBytes;

        public void SerializeTo(Span<byte> dest) => LogRecordFormat.WriteDelete(dest.Slice(0, LogRecordFormat.DeleteBytes), id);
    }

    private readonly unsafe struct PayloadCopyEntry(long id, byte* payload, int payloadLength, int length) : ILogEnqueueEntry
    {
        public int SerializedLength => length;

        public void SerializeTo(Span<byte> dest) =>
            LogRecordFormat.WritePayloadCopy(dest.Slice(0, length), id, new ReadOnlySpan<byte>(payload, payloadLength));
    }
}
