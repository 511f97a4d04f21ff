using System.Buffers;
using System.Globalization;
using Microsoft.Win32.SafeHandles;

namespace EmbeddedVectors.Storage;

// Positional reads of one record from its segment file (see the class remarks for why not FasterLog.ReadAsync).
internal sealed partial class FasterPayloadLog
{
    private const int MinReadBytes = 512;
    private const int MaxFirstReadBytes = 64 * 1024;

    /// <inheritdoc/>
    public byte[] ReadPayload(long address, long expectedId)
    {
        byte[] buffer = ReadEntry(address, out int length);
        try
        {
            return LogRecordFormat.PayloadOf(buffer.AsSpan(FasterEntryHeader.Bytes, length), address, expectedId, Directory);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <inheritdoc/>
    public int ReadVector(long address, long expectedId, Span<float> destination)
    {
        byte[] buffer = ReadEntry(address, out int length);
        try
        {
            return LogRecordFormat.CopyVector(buffer.AsSpan(FasterEntryHeader.Bytes, length), address, expectedId, destination, Directory);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
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
            LogRecordFormat.ThrowIfOutside(Directory, address, BeginAddress, readableUntil);
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

    private byte[] ReadEntryFromFile(long address, long readableUntil, out int length)
    {
        length = 0;
        long roomInPage = PageSize - (address & (PageSize - 1));
        // Entries start 4-byte aligned and leave room for their header in the page.
        if ((address & 3) != 0 || roomInPage < FasterEntryHeader.Bytes)
            throw NoRecord(address);
        SafeFileHandle handle = SegmentHandle(address >> _segmentSizeBits)
            ?? throw LogRecordFormat.Corrupt(Directory, address, $"no record there: segment file {SegmentPath(address >> _segmentSizeBits)} is missing");
        long fileOffset = address & ((1L << _segmentSizeBits) - 1);

        int firstRead = (int)Math.Min(roomInPage, Math.Min(readableUntil - address, Volatile.Read(ref _readHint)));
        firstRead = Math.Max(firstRead, FasterEntryHeader.Bytes);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(firstRead);
        try
        {
            int got = ReadAt(handle, buffer.AsSpan(0, firstRead), fileOffset);
            if (got < FasterEntryHeader.Bytes)
                throw NoRecord(address);
            int entryLength = FasterEntryHeader.Length(buffer);
            // 0 is page padding, a negative length marks one of FASTER's commit records.
            if (entryLength <= 0 || FasterEntryHeader.Bytes + ((entryLength + 3L) & ~3L) > roomInPage || address + FasterEntryHeader.Bytes + entryLength > readableUntil)
                throw NoRecord(address);
            int total = FasterEntryHeader.Bytes + entryLength;
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
            if (!FasterEntryHeader.ChecksumMatches(buffer, entryLength))
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

    private CorruptFileException NoRecord(long address) => LogRecordFormat.NoRecordStart(Directory, address);

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
}
