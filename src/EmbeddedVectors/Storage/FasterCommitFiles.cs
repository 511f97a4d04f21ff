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
internal sealed class FasterCommitFiles : ILogCommitManager
{
    private readonly DeviceLogCommitCheckpointManager _files;
    private readonly bool _writer;

    public FasterCommitFiles(string logDirectory, bool writer)
    {
        _files = new DeviceLogCommitCheckpointManager(new StoreLogDeviceFactory(writer), new DefaultCheckpointNamingScheme(logDirectory), removeOutdated: false);
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
        if (!ReadsBack(commitNum, commitMetadata))
        {
            Fail(commitNum, null);
            return;
        }
        foreach (long older in _files.ListCommits())
            if (older < commitNum) _files.RemoveCommit(older);
    }

    public IEnumerable<long> ListCommits()
    {
        foreach (long commit in _files.ListCommits())
            if (ReadsBack(commit, null)) yield return commit;
    }

    public byte[] GetCommitMetadata(long commitNum) => _files.GetCommitMetadata(commitNum);

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

    private bool ReadsBack(long commitNum, byte[]? expected)
    {
        try
        {
            byte[]? read = _files.GetCommitMetadata(commitNum);
            // Reads come back padded to the sector size; a commit file that was created but never filled reads as zeros.
            return read != null && read.AsSpan().ContainsAnyExcept((byte)0)
                && (expected == null || (read.Length >= expected.Length && read.AsSpan(0, expected.Length).SequenceEqual(expected)));
        }
        catch (Exception e) when (e is IOException or FasterException or ArgumentException or OverflowException or InvalidOperationException)
        {
            return false;
        }
    }
}
