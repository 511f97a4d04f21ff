using FASTER.core;

namespace EmbeddedVectors.Storage;

// Replay: a FasterLog scan of the committed log, parsing each entry in a buffer reused per thread.
internal sealed partial class FasterPayloadLog
{
    private const int InitialScanBufferBytes = 64 * 1024;
    private const int MaxKeptScanBufferBytes = 1 << 20;

    /// <summary>The buffer the <see cref="Replay"/> running on this thread receives entries in.</summary>
    [ThreadStatic] private static byte[]? t_scanBuffer;

    /// <summary>A scan buffer kept between <see cref="Replay"/> calls on this thread.</summary>
    [ThreadStatic] private static byte[]? t_spareScanBuffer;

    /// <inheritdoc/>
    /// <remarks>
    /// Each entry is copied into a buffer kept per thread. The handler runs outside FASTER's epoch protection, so
    /// it may call anything on this log, even append. In read-only mode, <see cref="Refresh"/> is called first.
    /// </remarks>
    public void Replay(long fromAddress, ReplayHandler handler)
    {
        ThrowIfDisposed();
        (long from, long end) = IPayloadLog.ReplayRange(this, fromAddress, handler);
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
}
