using System.Buffers.Binary;
using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;

namespace EmbeddedVectors.Storage;

/// <summary>
/// A segment's payloads (<c>seg-NNNNNN.evp</c>): written with the segment, so that once an entry is sealed its
/// payload lives beside its code and row and the write-ahead log can drop it. Layout (docs/format/segment.md):
/// a 64-byte header, then one record per entry — length (uint32), check (uint32: the low half of XXH3-64 over
/// the entry's id and its payload), the payload bytes. The segment's payload address of an entry is the offset of
/// its record. Every read is checked against the file's length and the record's check before it is returned.
/// </summary>
internal static class SegmentPayloads
{
    public const int HeaderSize = 64;
    public const int RecordHeaderSize = 8;
    public const uint FormatVersion = 1;
    private const int MagicOffset = 0;          // 0..7   "EVSEGPAY"
    private const int VersionOffset = 8;        // 8..11  uint32 format version
    private const int HeaderSizeOffset = 12;    // 12..15 uint32 header size (64)
    private const int SegmentNumberOffset = 16; // 16..23 int64 segment number
    private const int CountOffset = 24;         // 24..31 int64 entries (records)
    private const int BodyLengthOffset = 32;    // 32..39 int64 bytes after the header
    private const int BodyChecksumOffset = 40;  // 40..47 uint64 XXH3-64 of the body (checked by Verify)
    private const int HeaderChecksumOffset = 56; // 56..63 uint64 XXH3-64 of bytes 0..55

    private static ReadOnlySpan<byte> Magic => "EVSEGPAY"u8;

    public static string FileName(long segmentNumber) => $"seg-{segmentNumber:D6}.evp";

    /// <summary>The record check: ties the bytes to the id, so a record read for the wrong entry is caught too.</summary>
    private static uint Check(long id, ReadOnlySpan<byte> payload)
    {
        var hash = new XxHash3();
        Span<byte> idBytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(idBytes, id);
        hash.Append(idBytes);
        hash.Append(payload);
        return (uint)hash.GetCurrentHashAsUInt64();
    }

    /// <summary>Writes a segment's payload file: <c>.tmp</c> until <see cref="Complete"/> syncs and renames it.</summary>
    internal sealed class Writer : IDisposable
    {
        private readonly string _path;
        private readonly long _number;
        private readonly StoreFile _file;
        private readonly IStoreFileSystem _fileSystem;
        private readonly byte[] _buffer = new byte[1 << 16];
        private int _buffered;
        private long _bufferStart; // the file offset of _buffer[0]
        private readonly XxHash3 _bodyHash = new();
        private readonly byte[] _recordHeader = new byte[RecordHeaderSize];
        private long _count;
        private long _offset = HeaderSize;
        private bool _done;

        public Writer(string directory, long segmentNumber)
        {
            _number = segmentNumber;
            _path = Path.Combine(directory, FileName(segmentNumber));
            _fileSystem = StoreFileSystem.For(_path);
            _file = _fileSystem.Create(_path + FileHeaders.TempSuffix);
            _file.Write(new byte[HeaderSize], 0);
        }

        /// <summary>Appends the payload of entry <paramref name="id"/>; returns its address (record offset) in this file.</summary>
        public long Append(long id, ReadOnlySpan<byte> payload)
        {
            long address = _offset;
            BinaryPrimitives.WriteUInt32LittleEndian(_recordHeader, (uint)payload.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(_recordHeader.AsSpan(4), Check(id, payload));
            Append(_recordHeader, address);
            Append(payload, address + RecordHeaderSize);
            _bodyHash.Append(_recordHeader);
            _bodyHash.Append(payload);
            _offset += RecordHeaderSize + payload.Length;
            _count++;
            return address;
        }

        /// <summary>Writes the header, makes the file durable and gives it its final name.</summary>
        public void Complete()
        {
            Span<byte> header = stackalloc byte[HeaderSize];
            header.Clear();
            Magic.CopyTo(header);
            BinaryPrimitives.WriteUInt32LittleEndian(header[VersionOffset..], FormatVersion);
            BinaryPrimitives.WriteUInt32LittleEndian(header[HeaderSizeOffset..], HeaderSize);
            BinaryPrimitives.WriteInt64LittleEndian(header[SegmentNumberOffset..], _number);
            BinaryPrimitives.WriteInt64LittleEndian(header[CountOffset..], _count);
            BinaryPrimitives.WriteInt64LittleEndian(header[BodyLengthOffset..], _offset - HeaderSize);
            BinaryPrimitives.WriteUInt64LittleEndian(header[BodyChecksumOffset..], _bodyHash.GetCurrentHashAsUInt64());
            BinaryPrimitives.WriteUInt64LittleEndian(header[HeaderChecksumOffset..], FileHeaders.Checksum(header[..HeaderChecksumOffset]));
            FlushBuffer();
            _file.Write(header, 0);
            _file.Sync();
            _file.Dispose();
            _fileSystem.Move(_path + FileHeaders.TempSuffix, _path);
            // The directory sync that makes the name durable is the segment writer's, which completes after this.
            _done = true;
        }

        /// <summary>Appends at <paramref name="offset"/>, the end of what was appended so far, through a 64 KiB buffer.</summary>
        private void Append(ReadOnlySpan<byte> bytes, long offset)
        {
            if (bytes.Length > _buffer.Length - _buffered)
            {
                FlushBuffer();
                if (bytes.Length >= _buffer.Length)
                {
                    _file.Write(bytes, offset);
                    return;
                }
            }
            if (_buffered == 0) _bufferStart = offset;
            bytes.CopyTo(_buffer.AsSpan(_buffered));
            _buffered += bytes.Length;
        }

        private void FlushBuffer()
        {
            if (_buffered == 0) return;
            _file.Write(_buffer.AsSpan(0, _buffered), _bufferStart);
            _buffered = 0;
        }

        public void Dispose()
        {
            if (_done) return;
            _file.Dispose();
            StoreFiles.TryDelete(_path + FileHeaders.TempSuffix);
        }
    }

    /// <summary>An open payload file, read by positional reads (no mapping: payloads are read one at a time).</summary>
    internal sealed class Reader : IDisposable
    {
        private readonly SafeFileHandle _file;
        private readonly long _length;

        private Reader(string path, SafeFileHandle file, long length)
        {
            Path = path;
            _file = file;
            _length = length;
        }

        public string Path { get; }

        public static Reader Open(string directory, long segmentNumber, long expectedCount)
        {
            string path = System.IO.Path.Combine(directory, FileName(segmentNumber));
            if (!File.Exists(path)) throw new CorruptFileException(path, "missing: the manifest says this segment keeps its payloads in it.");
            var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            try
            {
                long length = RandomAccess.GetLength(file);
                Span<byte> header = stackalloc byte[HeaderSize];
                FileHeaders.ReadExactly(file, header, 0, path);
                if (!header[..8].SequenceEqual(Magic)) throw new CorruptFileException(path, "not a segment payload file (wrong magic number).");
                if (FileHeaders.Checksum(header[..HeaderChecksumOffset]) != BinaryPrimitives.ReadUInt64LittleEndian(header[HeaderChecksumOffset..]))
                    throw new CorruptFileException(path, "header checksum mismatch: the header is damaged.");
                FileHeaders.CheckVersion(path, BinaryPrimitives.ReadUInt32LittleEndian(header[VersionOffset..]), FormatVersion);
                long number = BinaryPrimitives.ReadInt64LittleEndian(header[SegmentNumberOffset..]);
                long count = BinaryPrimitives.ReadInt64LittleEndian(header[CountOffset..]);
                long body = BinaryPrimitives.ReadInt64LittleEndian(header[BodyLengthOffset..]);
                if (BinaryPrimitives.ReadUInt32LittleEndian(header[HeaderSizeOffset..]) != HeaderSize || number != segmentNumber || count != expectedCount
                    || body < 0 || body != length - HeaderSize)
                    throw new CorruptFileException(path, $"header does not fit: segment {number}, {count} records, body {body} bytes in a {length}-byte file (expected segment {segmentNumber} with {expectedCount} records).");
                return new Reader(path, file, length);
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }

        /// <summary>The payload of entry <paramref name="id"/> whose record starts at <paramref name="address"/>.</summary>
        public byte[] Read(long address, long id)
        {
            Span<byte> recordHeader = stackalloc byte[RecordHeaderSize];
            if (address < HeaderSize || address > _length - RecordHeaderSize)
                throw new CorruptFileException(Path, $"payload address {address} of id {id} lies outside the file ({_length} bytes).");
            FileHeaders.ReadExactly(_file, recordHeader, address, Path);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(recordHeader);
            if (length > _length - address - RecordHeaderSize)
                throw new CorruptFileException(Path, $"the payload record of id {id} at {address} claims {length} bytes, past the end of the file.");
            var payload = new byte[length];
            FileHeaders.ReadExactly(_file, payload, address + RecordHeaderSize, Path);
            if (Check(id, payload) != BinaryPrimitives.ReadUInt32LittleEndian(recordHeader[4..]))
                throw new CorruptFileException(Path, $"the payload record at {address} does not check for id {id}: damaged, or not that entry's.");
            return payload;
        }

        /// <summary>Checks the body checksum (reads the whole file).</summary>
        public void Verify()
        {
            var hash = new XxHash3();
            var buffer = new byte[1 << 20];
            for (long offset = HeaderSize; offset < _length;)
            {
                int piece = (int)Math.Min(buffer.Length, _length - offset);
                FileHeaders.ReadExactly(_file, buffer.AsSpan(0, piece), offset, Path);
                hash.Append(buffer.AsSpan(0, piece));
                offset += piece;
            }
            Span<byte> stored = stackalloc byte[8];
            FileHeaders.ReadExactly(_file, stored, BodyChecksumOffset, Path);
            if (hash.GetCurrentHashAsUInt64() != BinaryPrimitives.ReadUInt64LittleEndian(stored))
                throw new CorruptFileException(Path, "body checksum mismatch: a payload is damaged.");
        }

        public void Dispose() => _file.Dispose();
    }
}
