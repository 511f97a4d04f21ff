using System.Buffers;
using FASTER.core;
using Microsoft.Win32.SafeHandles;

namespace EmbeddedVectors.Storage;

// Truncation (the writer) and refreshing the view (read-only mode).
internal sealed partial class FasterPayloadLog
{
    /// <inheritdoc/>
    /// <remarks>Disk space comes back a whole segment file (256 MiB) at a time, shortly after the commit.</remarks>
    public void TruncateUntil(long address)
    {
        ThrowIfNotWritable();
        if (LogRecordFormat.CheckTruncation(address, _log.BeginAddress, _log.TailAddress) && address < _log.TailAddress)
        {
            // A begin address inside a record would make every later Replay fail: check that one starts there.
            try
            {
                byte[] buffer = ReadEntry(address, out int length);
                try
                {
                    LogRecordFormat.Parse(buffer.AsSpan(FasterEntryHeader.Bytes, length), address, Directory);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            catch (CorruptFileException e)
            {
                throw LogRecordFormat.NotARecordStart(address, e.Problem);
            }
        }
        _log.TruncateUntil(address);
        Commit();
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
}
