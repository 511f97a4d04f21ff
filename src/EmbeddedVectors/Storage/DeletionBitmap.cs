using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace EmbeddedVectors.Storage;

/// <summary>
/// Which entries of a segment are deleted, one bit a position. Segments are immutable, so deletions live beside
/// them in versioned files (<c>seg-000001.del-000003</c>) written whole; see docs/format/deletions.md.
/// </summary>
/// <remarks>
/// <see cref="MarkDeleted"/> is safe from several threads at once (an atomic OR on the 64-bit word); readers
/// may race with it and see a deletion a little early or late, never a torn word.
/// </remarks>
internal sealed class DeletionBitmap
{
    // File header, 64 bytes, little-endian. Bitmaps are read whole into memory, not mapped, so unlike
    // segments they need no page-sized header.
    public const int HeaderSize = 64;
    public const int MagicOffset = 0;            // 0..7   8 ASCII bytes "EVDELMAP"
    public const int VersionOffset = 8;          // 8..11  uint32 format version (1)
    public const int HeaderSizeOffset = 12;      // 12..15 uint32 header size (64)
    public const int SegmentNumberOffset = 16;   // 16..23 int64 segment the bitmap belongs to
    public const int BitmapVersionOffset = 24;   // 24..31 int64 version of this bitmap (as in the file name)
    public const int CountOffset = 32;           // 32..39 int64 entries in the segment (bits that matter)
    public const int DeletedCountOffset = 40;    // 40..47 int64 bits set
    public const int BitmapChecksumOffset = 48;  // 48..55 uint64 XXH3-64 of the bitmap bytes (64..end)
    public const int HeaderChecksumOffset = 56;  // 56..63 uint64 XXH3-64 of bytes 0..55
    // 64..end: ceil(count / 64) uint64 words; position p is bit (p % 64) of word (p / 64). Bits past count are 0.

    public static ReadOnlySpan<byte> Magic => "EVDELMAP"u8;

    private readonly long[] _words;
    private long _deleted;

    /// <summary>An empty bitmap for a segment of <paramref name="count"/> entries.</summary>
    public DeletionBitmap(long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(WordCount(count), Array.MaxLength, nameof(count));
        Count = count;
        _words = new long[WordCount(count)];
    }

    private DeletionBitmap(long count, long[] words, long deleted)
    {
        Count = count;
        _words = words;
        _deleted = deleted;
    }

    /// <summary>Entries (positions) the bitmap covers.</summary>
    public long Count { get; }

    /// <summary>Positions marked deleted.</summary>
    public long DeletedCount => Interlocked.Read(ref _deleted);

    private static long WordCount(long count) => (count >> 6) + ((count & 63) != 0 ? 1 : 0); // no overflow near long.MaxValue

    /// <summary>
    /// The bits, 64 positions a word (bit i of word w is position 64w + i). Read them only from a bitmap no one
    /// writes any more: one a published view holds (the writer copies before its next deletion).
    /// </summary>
    public ReadOnlySpan<long> Words => _words;

    /// <summary>True when <paramref name="position"/> is marked deleted.</summary>
    public bool IsDeleted(long position)
    {
        CheckPosition(position);
        return (Volatile.Read(ref _words[position >> 6]) & (1L << (int)(position & 63))) != 0;
    }

    /// <summary>Marks <paramref name="position"/> deleted; true if it was not already.</summary>
    public bool MarkDeleted(long position)
    {
        CheckPosition(position);
        long bit = 1L << (int)(position & 63);
        long before = Interlocked.Or(ref _words[position >> 6], bit);
        if ((before & bit) != 0) return false;
        Interlocked.Increment(ref _deleted);
        return true;
    }

    /// <summary>An independent copy, e.g. to build the next version while readers use this one.</summary>
    public DeletionBitmap Clone()
    {
        long[] words = Snapshot(out long deleted);
        return new DeletionBitmap(Count, words, deleted);
    }

    /// <summary>The file name of version <paramref name="version"/> of segment <paramref name="segmentNumber"/>'s bitmap.</summary>
    public static string FileName(long segmentNumber, long version) => $"seg-{segmentNumber:D6}.del-{version:D6}";

    /// <summary>
    /// Writes the bitmap as version <paramref name="version"/>: to a temp file, fsynced, renamed to its final
    /// name (replacing a leftover of that name), and the directory fsynced.
    /// </summary>
    public void Write(string directory, long segmentNumber, long version)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentOutOfRangeException.ThrowIfNegative(segmentNumber);
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Deletion files are little-endian and are written from memory as is.");

        // A consistent copy: concurrent MarkDeleted calls must not make the count disagree with the bits.
        long[] words = Snapshot(out long deleted);
        ReadOnlySpan<byte> bitmap = MemoryMarshal.AsBytes(words.AsSpan());
        Span<byte> header = stackalloc byte[HeaderSize];
        header.Clear();
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[VersionOffset..], FileHeaders.FormatVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(header[HeaderSizeOffset..], HeaderSize);
        BinaryPrimitives.WriteInt64LittleEndian(header[SegmentNumberOffset..], segmentNumber);
        BinaryPrimitives.WriteInt64LittleEndian(header[BitmapVersionOffset..], version);
        BinaryPrimitives.WriteInt64LittleEndian(header[CountOffset..], Count);
        BinaryPrimitives.WriteInt64LittleEndian(header[DeletedCountOffset..], deleted);
        BinaryPrimitives.WriteUInt64LittleEndian(header[BitmapChecksumOffset..], FileHeaders.Checksum(bitmap));
        BinaryPrimitives.WriteUInt64LittleEndian(header[HeaderChecksumOffset..], FileHeaders.Checksum(header[..HeaderChecksumOffset]));

        string final = Path.Combine(directory, FileName(segmentNumber, version));
        string temp = final + FileHeaders.TempSuffix;
        var fileSystem = StoreFileSystem.For(final);
        try
        {
            using (var file = fileSystem.Create(temp))
            {
                file.Write(header, 0);
                file.Write(bitmap, header.Length);
                file.Sync();
            }
            fileSystem.Move(temp, final);
        }
        catch
        {
            FileHeaders.DeleteQuietly(temp);
            throw;
        }
        fileSystem.SyncDirectory(directory);
    }

    /// <summary>
    /// Loads version <paramref name="version"/> of segment <paramref name="segmentNumber"/>'s bitmap, checking
    /// header, checksums, that it covers <paramref name="expectedCount"/> entries and that its count of deleted
    /// entries matches its bits.
    /// </summary>
    /// <exception cref="CorruptFileException">The file is truncated, damaged, of another version, or for another segment.</exception>
    public static DeletionBitmap Load(string directory, long segmentNumber, long version, long expectedCount)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentOutOfRangeException.ThrowIfNegative(segmentNumber);
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedCount);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Deletion files are little-endian and are read as is.");
        string path = Path.Combine(directory, FileName(segmentNumber, version));
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 0);
        long length = file.Length;
        if (length < HeaderSize)
            throw new CorruptFileException(path, $"truncated: {length} bytes, shorter than the {HeaderSize}-byte header");
        Span<byte> header = stackalloc byte[HeaderSize];
        FileHeaders.ReadExactly(file.SafeFileHandle, header, 0, path);

        if (!header[..8].SequenceEqual(Magic))
            throw new CorruptFileException(path, "not a deletion file: the first 8 bytes are not \"EVDELMAP\"");
        FileHeaders.CheckVersion(path, BinaryPrimitives.ReadUInt32LittleEndian(header[VersionOffset..]));
        if (BinaryPrimitives.ReadUInt64LittleEndian(header[HeaderChecksumOffset..]) != FileHeaders.Checksum(header[..HeaderChecksumOffset]))
            throw new CorruptFileException(path, "the header checksum does not match; the header is damaged");
        uint headerSize = BinaryPrimitives.ReadUInt32LittleEndian(header[HeaderSizeOffset..]);
        if (headerSize != HeaderSize) throw new CorruptFileException(path, $"header size is {headerSize}, expected {HeaderSize}");
        long fileSegment = BinaryPrimitives.ReadInt64LittleEndian(header[SegmentNumberOffset..]);
        long fileVersion = BinaryPrimitives.ReadInt64LittleEndian(header[BitmapVersionOffset..]);
        if (fileSegment != segmentNumber || fileVersion != version)
            throw new CorruptFileException(path, $"the header says segment {fileSegment} version {fileVersion}, expected segment {segmentNumber} version {version}");
        long count = BinaryPrimitives.ReadInt64LittleEndian(header[CountOffset..]);
        if (count != expectedCount)
            throw new CorruptFileException(path, $"covers {count} entries, but the segment has {expectedCount}");
        // count is non-negative, so words × 8 is at most 2^60: no overflow.
        long words = WordCount(count);
        if (length != HeaderSize + words * sizeof(long))
            throw new CorruptFileException(path, $"is {length} bytes, expected {HeaderSize + words * sizeof(long)} for {count} entries");
        if (words > Array.MaxLength)
            throw new CorruptFileException(path, $"{count} entries are more than a bitmap can hold in memory");

        var bits = new long[words];
        FileHeaders.ReadExactly(file.SafeFileHandle, MemoryMarshal.AsBytes(bits.AsSpan()), HeaderSize, path);
        if (FileHeaders.Checksum(MemoryMarshal.AsBytes(bits.AsSpan())) != BinaryPrimitives.ReadUInt64LittleEndian(header[BitmapChecksumOffset..]))
            throw new CorruptFileException(path, "the bitmap does not match its checksum; the file is damaged");
        if (count % 64 != 0 && (bits[^1] & (-1L << (int)(count % 64))) != 0)
            throw new CorruptFileException(path, $"bits are set past the last entry ({count})");
        long deleted = 0;
        foreach (long word in bits) deleted += BitOperations.PopCount((ulong)word);
        long stored = BinaryPrimitives.ReadInt64LittleEndian(header[DeletedCountOffset..]);
        if (deleted != stored)
            throw new CorruptFileException(path, $"the header counts {stored} deleted entries but {deleted} bits are set");
        return new DeletionBitmap(count, bits, deleted);
    }

    /// <summary>Positions deleted here but not in <paramref name="earlier"/> (an earlier version of the same segment's bitmap).</summary>
    public List<long> DeletedSince(DeletionBitmap earlier)
    {
        if (earlier.Count != Count) throw new ArgumentException("The bitmaps cover different segments.", nameof(earlier));
        var positions = new List<long>();
        for (int w = 0; w < _words.Length; w++)
        {
            ulong added = (ulong)(Volatile.Read(ref _words[w]) & ~Volatile.Read(ref earlier._words[w]));
            while (added != 0)
            {
                positions.Add(((long)w << 6) + BitOperations.TrailingZeroCount(added));
                added &= added - 1;
            }
        }
        return positions;
    }

    private long[] Snapshot(out long deleted)
    {
        var copy = new long[_words.Length];
        deleted = 0;
        for (int i = 0; i < copy.Length; i++)
        {
            copy[i] = Volatile.Read(ref _words[i]);
            deleted += BitOperations.PopCount((ulong)copy[i]);
        }
        return copy;
    }

    private void CheckPosition(long position)
    {
        if ((ulong)position >= (ulong)Count)
            throw new ArgumentOutOfRangeException(nameof(position), position, $"Positions are 0..{Count - 1}.");
    }
}
