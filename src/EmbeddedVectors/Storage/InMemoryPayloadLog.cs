namespace EmbeddedVectors.Storage;

/// <summary>
/// A payload log kept in memory, for tests: it plays the disk, and <see cref="Open"/> opens
/// <see cref="IPayloadLog"/> instances on it with the semantics of <see cref="FasterPayloadLog"/>. The object
/// outlives the instances (and the stores) opened on it, as a directory would, so a test can close a store and
/// open it again on the same records, or <see cref="SimulateCrash"/> and reopen.
/// </summary>
/// <remarks>
/// <para>
/// Records are kept as their <see cref="LogRecordFormat"/> bytes in a list, in address order. Addresses start at
/// <see cref="FirstAddress"/> and grow by each record's length rounded up to 8 bytes, so they differ from FASTER's
/// (which add a 12-byte header): code that computed with addresses instead of treating them as opaque would show.
/// </para>
/// <para>
/// A commit marks the durable point (<see cref="IPayloadLog.CommittedUntilAddress"/>). Opening a writable instance
/// recovers to it, dropping records appended after the last commit, as FASTER's recovery does; so does
/// <see cref="SimulateCrash"/>, which also kills the writing instance (every call but Dispose then throws
/// <see cref="InvalidOperationException"/>, as if its process had died). Truncation is durable at once (it
/// commits, as <see cref="FasterPayloadLog.TruncateUntil"/> does), and so is any record read back by address
/// (FASTER can read only flushed records, so it commits first; this log does the same). Read-only instances see commits as of their last
/// refresh. One writable instance may be open at a time (the store's lock file ensures the same on disk).
/// </para>
/// <para>
/// Threads: one lock guards the list and the addresses; records are immutable arrays, parsed outside it, and
/// <see cref="IPayloadLog.Replay"/> looks each record up by address without holding the lock across the
/// handler, so handlers may call back into the log. Reads and replays allocate nothing per record beyond what
/// they return; appends allocate the record's bytes.
/// </para>
/// </remarks>
internal sealed class InMemoryPayloadLog
{
    /// <summary>The address of the first record of a new log (no record is ever at 0, which means "none").</summary>
    public const long FirstAddress = 8;

    private readonly Lock _gate = new();
    private readonly List<Record> _records = [];
    private long _begin = FirstAddress;
    private long _tail = FirstAddress;
    private long _committed = FirstAddress;
    private Instance? _writer;

    /// <summary>
    /// Opens an instance on this log; the signature matches <see cref="EmbeddedVectorStoreOptions.PayloadLogFactory"/>.
    /// A writable instance first drops every record after the last commit.
    /// </summary>
    /// <param name="directory">The directory the log stands for; error messages name it.</param>
    /// <param name="readOnly">Open a viewer that sees the writer's commits as of its last refresh.</param>
    /// <exception cref="InvalidOperationException">A writable instance is requested while another is open.</exception>
    public IPayloadLog Open(string directory, bool readOnly)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string fullPath = Path.GetFullPath(directory);
        lock (_gate)
        {
            if (readOnly)
                return new Instance(this, fullPath, readOnly: true);
            if (_writer is not null)
                throw new InvalidOperationException($"{fullPath}: the in-memory log is already open for writing; dispose that instance (or simulate a crash) first.");
            DropUncommittedLocked();
            return _writer = new Instance(this, fullPath, readOnly: false);
        }
    }

    /// <summary>The records held, committed or not.</summary>
    public int Count
    {
        get { lock (_gate) return _records.Count; }
    }

    /// <summary>
    /// Simulates the death of the writer's process: every record after the last commit is dropped, and the writing
    /// instance (if any) becomes unusable: each of its calls but Dispose throws <see cref="InvalidOperationException"/>,
    /// so a store on it fails at its next log call. Read-only instances are not affected.
    /// </summary>
    public void SimulateCrash()
    {
        lock (_gate)
        {
            if (_writer is not null)
                _writer.Crashed = true;
            _writer = null;
            DropUncommittedLocked();
        }
    }

    /// <summary>Appends <paramref name="record"/> as it is, unframed, to <paramref name="instance"/> (a writable instance of an in-memory log): for tests that need a damaged record.</summary>
    internal static long AppendRawForTesting(IPayloadLog instance, ReadOnlySpan<byte> record) =>
        ((Instance)instance).AppendRawForTesting(record);

    private void DropUncommittedLocked()
    {
        int keep = FirstIndexAtOrAfterLocked(_committed);
        _records.RemoveRange(keep, _records.Count - keep);
        _tail = _committed;
    }

    /// <summary>The index of the first record at or after <paramref name="address"/> (the count when there is none).</summary>
    private int FirstIndexAtOrAfterLocked(long address)
    {
        int lo = 0, hi = _records.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_records[mid].Address < address)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo;
    }

    private readonly record struct Record(long Address, byte[] Entry);

    /// <summary>One open instance: the writer, or a read-only viewer with its own view of the committed log.</summary>
    private sealed class Instance : IPayloadLog
    {
        private readonly InMemoryPayloadLog _log;
        private long _viewBegin;
        private long _viewCommitted;
        private volatile bool _disposed;

        public Instance(InMemoryPayloadLog log, string directory, bool readOnly)
        {
            _log = log;
            Directory = directory;
            IsReadOnly = readOnly;
            _viewBegin = log._begin;
            _viewCommitted = log._committed;
        }

        /// <summary>Set by <see cref="SimulateCrash"/> (under the log's lock).</summary>
        public bool Crashed { get; set; }

        public string Directory { get; }

        public bool IsReadOnly { get; }

        public long BeginAddress
        {
            get
            {
                ThrowIfUnusable();
                lock (_log._gate) return IsReadOnly ? _viewBegin : _log._begin;
            }
        }

        public long TailAddress
        {
            get
            {
                ThrowIfUnusable();
                lock (_log._gate) return IsReadOnly ? _viewCommitted : _log._tail;
            }
        }

        public long CommittedUntilAddress
        {
            get
            {
                ThrowIfUnusable();
                lock (_log._gate) return IsReadOnly ? _viewCommitted : _log._committed;
            }
        }

        public long AppendUpsert(long id, ReadOnlySpan<float> vector, ReadOnlySpan<byte> payload)
        {
            ThrowIfNotWritable();
            var entry = new byte[LogRecordFormat.CheckedUpsertLength(vector, payload)];
            LogRecordFormat.WriteUpsert(entry, id, vector, payload);
            return Append(entry);
        }

        public long AppendDelete(long id)
        {
            ThrowIfNotWritable();
            var entry = new byte[LogRecordFormat.DeleteBytes];
            LogRecordFormat.WriteDelete(entry, id);
            return Append(entry);
        }

        public long AppendPayloadCopy(long id, ReadOnlySpan<byte> payload) => AppendBytesRecord(LogRecordKind.PayloadCopy, id, payload);

        public long AppendFields(long id, ReadOnlySpan<byte> fields) => AppendBytesRecord(LogRecordKind.Fields, id, fields);

        private long AppendBytesRecord(LogRecordKind kind, long id, ReadOnlySpan<byte> payload)
        {
            ThrowIfNotWritable();
            var entry = new byte[LogRecordFormat.CheckedPayloadCopyLength(payload)];
            LogRecordFormat.WriteBytesRecord(entry, kind, id, payload);
            return Append(entry);
        }

        /// <summary>Appends <paramref name="record"/> as it is, unframed: for tests that need a damaged record.</summary>
        internal long AppendRawForTesting(ReadOnlySpan<byte> record)
        {
            ThrowIfNotWritable();
            LogRecordFormat.CheckRawLength(record);
            return Append(record.ToArray());
        }

        private long Append(byte[] entry)
        {
            lock (_log._gate)
            {
                long address = _log._tail;
                _log._records.Add(new Record(address, entry));
                _log._tail = address + ((entry.Length + 7L) & ~7L);
                return address;
            }
        }

        public void Commit()
        {
            ThrowIfNotWritable();
            lock (_log._gate)
                _log._committed = _log._tail;
        }

        public ValueTask CommitAsync(CancellationToken cancellationToken = default)
        {
            ThrowIfNotWritable();
            if (cancellationToken.IsCancellationRequested)
                return ValueTask.FromCanceled(cancellationToken);
            Commit();
            return ValueTask.CompletedTask;
        }

        public byte[] ReadPayload(long address, long expectedId) =>
            LogRecordFormat.PayloadOf(Find(address), address, expectedId, Directory);

        public int ReadVector(long address, long expectedId, Span<float> destination) =>
            LogRecordFormat.CopyVector(Find(address), address, expectedId, destination, Directory);

        /// <summary>The record at <paramref name="address"/>, which a writer can read once appended and a viewer once in its view (refreshed once when past it).</summary>
        private byte[] Find(long address)
        {
            ThrowIfUnusable();
            if (IsReadOnly && address >= Volatile.Read(ref _viewCommitted) && address >= 0)
                Refresh();
            lock (_log._gate)
            {
                // As FasterPayloadLog, which can read only flushed records and commits to flush: reading an
                // uncommitted record makes it (and everything before it) durable.
                if (!IsReadOnly && address >= _log._committed && address < _log._tail)
                    _log._committed = _log._tail;
                long begin = IsReadOnly ? _viewBegin : _log._begin;
                LogRecordFormat.ThrowIfOutside(Directory, address, Math.Max(begin, _log._begin), IsReadOnly ? _viewCommitted : _log._tail);
                int index = _log.FirstIndexAtOrAfterLocked(address);
                if (index == _log._records.Count || _log._records[index].Address != address)
                    throw LogRecordFormat.NoRecordStart(Directory, address);
                return _log._records[index].Entry;
            }
        }

        public void Replay(long fromAddress, ReplayHandler handler)
        {
            ThrowIfUnusable();
            (long next, long end) = IPayloadLog.ReplayRange(this, fromAddress, handler);
            while (next < end)
            {
                Record record;
                lock (_log._gate)
                {
                    int index = _log.FirstIndexAtOrAfterLocked(next);
                    if (index == _log._records.Count)
                        return;
                    record = _log._records[index];
                }
                if (record.Address >= end)
                    return;
                LogRecordView view = LogRecordFormat.Parse(record.Entry, record.Address, Directory);
                handler(in view);
                next = record.Address + 1;
            }
        }

        public void TruncateUntil(long address)
        {
            ThrowIfNotWritable();
            lock (_log._gate)
            {
                if (LogRecordFormat.CheckTruncation(address, _log._begin, _log._tail))
                {
                    int index = _log.FirstIndexAtOrAfterLocked(address);
                    if (address < _log._tail && (index == _log._records.Count || _log._records[index].Address != address))
                        throw LogRecordFormat.NotARecordStart(address, "no record starts there");
                    _log._records.RemoveRange(0, index);
                    _log._begin = address;
                }
                _log._committed = _log._tail;
            }
        }

        public void Refresh()
        {
            ThrowIfUnusable();
            if (!IsReadOnly)
                return;
            lock (_log._gate)
            {
                _viewBegin = _log._begin;
                _viewCommitted = _log._committed;
            }
        }

        public void Dispose()
        {
            lock (_log._gate)
            {
                if (_disposed)
                    return;
                _disposed = true;
                if (_log._writer == this)
                    _log._writer = null;
            }
        }

        private void ThrowIfUnusable()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (Crashed)
                throw new InvalidOperationException($"{Directory}: the in-memory log's writer crashed (SimulateCrash); open a new instance.");
        }

        private void ThrowIfNotWritable()
        {
            ThrowIfUnusable();
            if (IsReadOnly)
                throw LogRecordFormat.ReadOnlyLog(Directory);
        }
    }
}
