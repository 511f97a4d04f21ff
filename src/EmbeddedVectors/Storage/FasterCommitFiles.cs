using System.Buffers.Binary;
using FASTER.core;

namespace EmbeddedVectors.Storage;

/// <summary>
/// FASTER's commit files (<c>log-commits/commit.N.0</c>, written by its own <see cref="DeviceLogCommitCheckpointManager"/> over <see cref="StoreLogDevice"/>,
/// so the files are the same as before), with two guards FASTER 2.6.5 lacks. On a full disk FASTER creates the next
/// commit file, fails to fill it without noticing, and deletes the older ones, so the log then recovers to empty:
/// here a commit file is read back before the older ones are removed, and one that does not read back is deleted
/// and reported through <see cref="Failure"/> (the log's commit then throws). And recovery only ever sees commit
/// files that read back, so an empty or torn newest one falls back to the one before it instead of to nothing.
/// </summary>
/// <remarks>
/// A commit file is checked here before FASTER reads it (<see cref="Problem"/>): FASTER 2.6.5 sizes its read by
/// the file's length field (a damaged one asked for 2 GiB), keeps the addresses of a record whose checksum or
/// iterator list fails to parse, and recovers a log whose commit lies past the end of its segment files. Only
/// commit files that pass are listed to FASTER; when files exist but every one is damaged (not merely empty,
/// as a commit cut short by a crash or a full disk leaves it), the open fails with a
/// <see cref="CorruptFileException"/> naming the newest, rather than recovering an empty log.
/// </remarks>
internal sealed class FasterCommitFiles : ILogCommitManager
{
    /// <summary>A commit record is a few dozen bytes; anything longer than this is damage.</summary>
    private const int MaxCommitFileBytes = 1 << 16;

    private readonly DeviceLogCommitCheckpointManager _files;
    private readonly DefaultCheckpointNamingScheme _naming;
    private readonly string _logDirectory;
    private readonly int _segmentSizeBits;
    private readonly bool _writer;

    public FasterCommitFiles(string logDirectory, bool writer, int segmentSizeBits)
    {
        _naming = new DefaultCheckpointNamingScheme(logDirectory);
        _files = new DeviceLogCommitCheckpointManager(new StoreLogDeviceFactory(writer), _naming, removeOutdated: false);
        _logDirectory = logDirectory;
        _segmentSizeBits = segmentSizeBits;
        _writer = writer;
    }

    /// <summary>Set when a commit's file could not be written: that commit, and every later one, is not durable.</summary>
    public Exception? Failure { get; private set; }

    public void Commit(long beginAddress, long untilAddress, byte[] commitMetadata, long commitNum, bool forceWriteMetadata)
    {
        if (Failure != null) return; // the log is no longer trusted; the store reopens it
        try
        {
            _files.Commit(beginAddress, untilAddress, commitMetadata, commitNum, forceWriteMetadata);
        }
        catch (Exception e) when (e is IOException or FasterException)
        {
            Fail(commitNum, e);
            return;
        }
        if (!_writer) return;
        if (Problem(commitNum, commitMetadata) != null)
        {
            Fail(commitNum, null);
            return;
        }
        foreach (long older in _files.ListCommits())
            if (older < commitNum) _files.RemoveCommit(older);
    }

    /// <exception cref="CorruptFileException">Commit files exist, but every one is damaged.</exception>
    public IEnumerable<long> ListCommits()
    {
        // A reader in another process lists while the writer commits: between the listing and the read, the writer
        // may write commit N + 1 and delete N. Were that taken as "no commit", the reader would recover an empty
        // log, so a listing whose every file vanished is taken again (the writer keeps one commit at all times).
        for (int attempt = 1; ; attempt++)
        {
            var valid = new List<long>();
            long damaged = -1;
            string? damage = null;
            bool vanished = false;
            lock (_listed) _listed.Clear();
            foreach (long commit in _files.ListCommits()) // newest first
            {
                string? problem = Problem(commit, null);
                if (problem == null) valid.Add(commit);
                else if (problem.Length > 0 && damage == null) (damage, damaged) = (problem, commit);
                else if (problem.Length == 0) vanished |= !File.Exists(CommitPath(commit));
            }
            if (valid.Count > 0 || !vanished)
            {
                if (valid.Count == 0 && damage != null) throw new CorruptFileException(CommitPath(damaged), damage);
                return valid;
            }
            // Every file that read back vanished (or was a newer one still being written): the writer moved on.
            if (attempt == MaxListingAttempts)
                throw new IOException($"The log's commit files in {Path.Combine(_logDirectory, "log-commits")} changed under every one of {MaxListingAttempts} listings.");
            Thread.Sleep(1);
        }
    }

    /// <summary>Listings taken while every listed commit file vanishes under a concurrent writer, before giving up.</summary>
    private const int MaxListingAttempts = 100;

    public byte[] GetCommitMetadata(long commitNum)
    {
        // A commit file never changes once written, so the record read and checked while listing it is the commit,
        // even if the writer has deleted the file since (FASTER's own read of a vanished file would return zeros).
        lock (_listed)
            if (_listed.TryGetValue(commitNum, out var listed)) return listed;
        return _files.GetCommitMetadata(commitNum);
    }

    /// <summary>The commit records <see cref="ListCommits"/> last read and found whole, by commit number.</summary>
    private readonly Dictionary<long, byte[]> _listed = [];

    public void RemoveCommit(long commitNum) => _files.RemoveCommit(commitNum);

    public void RemoveAllCommits() => _files.RemoveAllCommits();

    public void OnRecovery(long commitNum)
    {
        if (!_writer) return;
        foreach (long other in _files.ListCommits())
            if (other != commitNum) _files.RemoveCommit(other);
    }

    public void Dispose() => _files.Dispose();

    private void Fail(long commitNum, Exception? cause)
    {
        try { _files.RemoveCommit(commitNum); }
        catch (Exception e) when (e is IOException or FasterException) { }
        // 28 is ENOSPC: the usual reason, and how WriteFailures recognises a full disk.
        Failure = new IOException($"the log's commit file {commitNum} could not be written{(cause == null ? "" : $" ({cause.Message})")}; the disk may be full.", 28);
    }

    /// <summary>
    /// Null when commit <paramref name="commitNum"/>'s file holds a whole commit record (equal to
    /// <paramref name="expected"/> when given) whose addresses the log's segment files reach; "" when the file is
    /// gone, unreadable, empty or all zeros (a commit that never completed: not damage); else what is wrong.
    /// </summary>
    private string? Problem(long commitNum, byte[]? expected)
    {
        byte[] file;
        try
        {
            using var stream = new FileStream(CommitPath(commitNum), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            if (stream.Length > MaxCommitFileBytes) return $"is {stream.Length} bytes long; a commit file is at most {MaxCommitFileBytes}.";
            file = new byte[stream.Length];
            stream.ReadExactly(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
        if (!file.AsSpan().ContainsAnyExcept((byte)0)) return "";
        int size = file.Length >= sizeof(int) ? BinaryPrimitives.ReadInt32LittleEndian(file) : -1;
        if (size <= 0 || size > file.Length - sizeof(int))
            return $"its commit record claims {size} bytes in a {file.Length}-byte file.";
        if (expected != null && !file.AsSpan(sizeof(int), size).SequenceEqual(expected)) return "does not read back as written.";
        if (ParseCommitRecord(file.AsSpan(sizeof(int), size)) is string unparsable) return $"its commit record {unparsable}.";
        if (expected == null) lock (_listed) _listed[commitNum] = file.AsSpan(sizeof(int), size).ToArray();
        var info = (BeginAddress: BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(sizeof(int) + 12)), UntilAddress: BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(sizeof(int) + 20)));
        if (info.BeginAddress < 0 || info.UntilAddress < info.BeginAddress)
            return $"its commit record has begin address {info.BeginAddress} and until address {info.UntilAddress}.";
        if (!SegmentFilesReach(info.UntilAddress))
            return $"commits the log until address {info.UntilAddress}, past the end of its segment file.";
        return null;
    }

    /// <summary>
    /// Checks a commit record as FASTER 2.6.5 writes it (FasterLogRecoveryInfo, version 1): version int32, checksum
    /// int64, begin and until addresses int64, commit number int64, iterator count int32 with per iterator a
    /// name (length int32, UTF-8) and an address int64, cookie length int32 (−1: none) and the cookie; the checksum
    /// is the XOR of the addresses, the commit number, the counts and FASTER's XorBytes of the cookie. FASTER's own
    /// parser sizes arrays by these counts unchecked, so it only ever sees records that pass here. Null when the
    /// record is whole and its checksum matches, else what is wrong.
    /// </summary>
    private static unsafe string? ParseCommitRecord(ReadOnlySpan<byte> record)
    {
        const int FixedBytes = 4 + 8 + 8 + 8 + 8 + 4;
        if (record.Length < FixedBytes + 4) return $"is {record.Length} bytes, shorter than its fixed fields";
        int version = BinaryPrimitives.ReadInt32LittleEndian(record);
        if (version != 1) return $"has version {version}; FASTER 2.6.5 writes version 1";
        long stored = BinaryPrimitives.ReadInt64LittleEndian(record[4..]);
        long begin = BinaryPrimitives.ReadInt64LittleEndian(record[12..]), until = BinaryPrimitives.ReadInt64LittleEndian(record[20..]);
        long commitNum = BinaryPrimitives.ReadInt64LittleEndian(record[28..]);
        int iterators = BinaryPrimitives.ReadInt32LittleEndian(record[36..]);
        var rest = record[FixedBytes..];
        if (iterators < 0 || iterators > rest.Length / 12) return $"lists {iterators} iterators in {rest.Length} bytes";
        for (int i = 0; i < iterators; i++)
        {
            int nameLength = rest.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(rest) : -1;
            if (nameLength < 0 || nameLength > rest.Length - 12) return $"has an iterator name of {nameLength} bytes past its end";
            rest = rest[(4 + nameLength + 8)..];
        }
        int cookieLength = rest.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(rest) : int.MinValue;
        if (cookieLength < -1 || cookieLength > rest.Length - 4) return $"has a cookie of {cookieLength} bytes in {rest.Length - 4}";
        long cookieChecksum = 0;
        if (cookieLength > 0)
            fixed (byte* cookie = rest.Slice(4, cookieLength))
                cookieChecksum = (long)Utility.XorBytes(cookie, cookieLength);
        if ((begin ^ until ^ commitNum ^ iterators ^ cookieLength ^ cookieChecksum) != stored) return "does not match its checksum";
        return null;
    }

    /// <summary>Whether the log's segment file holding the byte before <paramref name="address"/> is long enough to hold it.</summary>
    private bool SegmentFilesReach(long address)
    {
        if (address <= 64) return true; // FASTER's first valid address: an empty log
        long last = address - 1;
        string segment = Path.Combine(_logDirectory, $"{FasterPayloadLog.LogFileName}.{last >> _segmentSizeBits}");
        var info = new FileInfo(segment);
        return info.Exists && info.Length > (last & ((1L << _segmentSizeBits) - 1));
    }

    private string CommitPath(long commitNum)
    {
        var descriptor = _naming.FasterLogCommitMetadata(commitNum);
        // FASTER's local storage device adds the segment suffix ".0" to the file name.
        return Path.Combine(_naming.BaseName(), descriptor.directoryName, descriptor.fileName + ".0");
    }
}
