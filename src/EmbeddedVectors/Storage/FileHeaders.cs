using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using EmbeddedVectors.Kernels;
using Microsoft.Win32.SafeHandles;

namespace EmbeddedVectors.Storage;

/// <summary>What the store's files share: version rule, checksums, alignment and durable writes.</summary>
internal static partial class FileHeaders
{
    /// <summary>The only format version this build writes and reads.</summary>
    public const uint FormatVersion = 1;

    /// <summary>Regions start at multiples of this, so SIMD kernels can read codes in place.</summary>
    public const int RegionAlignment = 64;

    /// <summary>Suffix of files being written; they are renamed to their final name once complete and synced.</summary>
    public const string TempSuffix = ".tmp";

    /// <summary>The 64-bit checksum used by every file: XXH3-64 with seed 0.</summary>
    public static ulong Checksum(ReadOnlySpan<byte> bytes) => XxHash3.HashToUInt64(bytes);

    /// <summary>The checksum of <paramref name="length"/> bytes at <paramref name="start"/>, hashed in pieces a span can hold.</summary>
    public static unsafe ulong Checksum(byte* start, long length)
    {
        var hash = new XxHash3();
        // XXH3 streamed in pieces equals XXH3 of the whole, so regions larger than 2 GiB hash the same way.
        for (long done = 0; done < length;)
        {
            int piece = (int)Math.Min(length - done, 1 << 30);
            hash.Append(new ReadOnlySpan<byte>(start + done, piece));
            done += piece;
        }
        return hash.GetCurrentHashAsUInt64();
    }

    /// <summary>Rounds <paramref name="offset"/> up to the next region boundary.</summary>
    public static long AlignUp(long offset) => checked(offset + RegionAlignment - 1) & ~(long)(RegionAlignment - 1);

    /// <summary>
    /// The version rule of every file with a format version in its header: versions 1 to <paramref name="newest"/>
    /// are readable, a version of 0 or below is damage (<see cref="CorruptFileException"/>), and a version above
    /// <paramref name="newest"/> was written by a newer EmbeddedVectors (<see cref="NewerFormatVersionException"/>).
    /// </summary>
    public static void CheckVersion(string path, long version, long newest = FormatVersion)
    {
        if (version < 1) throw new CorruptFileException(path, $"invalid format version {version}; this build reads version {newest}.");
        if (version > newest) throw new NewerFormatVersionException(path, version, newest);
    }

    /// <summary>Reads exactly <paramref name="buffer"/>.Length bytes at <paramref name="offset"/>, or reports the file truncated.</summary>
    public static void ReadExactly(SafeFileHandle file, Span<byte> buffer, long offset, string path)
    {
        while (!buffer.IsEmpty)
        {
            int read = RandomAccess.Read(file, buffer, offset);
            if (read == 0) throw new CorruptFileException(path, $"truncated: ends before byte {offset + buffer.Length}");
            buffer = buffer[read..];
            offset += read;
        }
    }

    /// <summary>Deletes a file, ignoring failures: used to clean up temp files when something else already failed.</summary>
    public static void DeleteQuietly(string path)
    {
        try { StoreFileSystem.For(path).Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Makes renames in <paramref name="directory"/> durable: a rename is a change to the directory, and on Linux
    /// and macOS it survives a power loss only once the directory itself is fsynced. Windows has no such call
    /// (NTFS journals the rename), and file systems that refuse fsync on a directory are skipped silently.
    /// </summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        const int ReadOnly = 0;
        const int LinuxCloseOnExec = 0x80000; // O_CLOEXEC on every Linux architecture .NET runs on
        int fd;
        try
        {
            fd = Open(directory, OperatingSystem.IsLinux() ? ReadOnly | LinuxCloseOnExec : ReadOnly);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return;
        }
        if (fd < 0) return;
        try
        {
            if (Fsync(fd) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                const int EINVAL = 22, LinuxENOTSUP = 95, MacENOTSUP = 45;
                if (errno is not (EINVAL or LinuxENOTSUP or MacENOTSUP))
                    throw new IOException($"fsync of directory {directory} failed with errno {errno}.");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}

/// <summary>One region of a file: where it starts, how long it is, and the XXH3-64 of its bytes.</summary>
internal readonly record struct Region(long Offset, long Length, ulong Checksum)
{
    /// <summary>First byte after the region; throws <see cref="OverflowException"/> past <see cref="long.MaxValue"/>.</summary>
    public long End => checked(Offset + Length);
}

/// <summary>
/// The 4096-byte header that starts both segment files, <c>.evs</c> (5 regions) and <c>.evv</c> (1 region).
/// All integers little-endian. 4096 bytes, so the first region starts on a page boundary.
/// </summary>
internal sealed class SegmentHeader
{
    public const int Size = 4096;
    public const int MagicOffset = 0;            // 0..7       8 ASCII bytes: "EVSEGCOD" (.evs) or "EVSEGVEC" (.evv)
    public const int VersionOffset = 8;          // 8..11      uint32 format version (1 to 3)
    public const int HeaderSizeOffset = 12;      // 12..15     uint32 header size (4096)
    public const int LayoutOffset = 16;          // 16..19     uint32 code layout (1 = pq8, 2 = pq4fs)
    public const int NListOffset = 20;           // 20..23     int32 nlist
    public const int CodeSizeOffset = 24;        // 24..27     int32 bytes an unpacked code (pq8: bytes a code; pq4fs: m)
    public const int DimensionOffset = 28;       // 28..31     int32 floats a vector
    public const int CountOffset = 32;           // 32..39     int64 entries in the segment
    public const int SegmentNumberOffset = 40;   // 40..47     int64 segment number (as in the file name)
    public const int FlagsOffset = 48;           // 48..55     uint64 flags; bit 0 = has vectors, others 0
    public const int CompanionOffset = 56;       // 56..63     uint64 .evs: header checksum of its .evv (0 without); .evv: 0
    public const int RegionsOffset = 64;         // 64..       a region entry per region, in file order:
    public const int RegionEntrySize = 24;       //            +0..7 int64 offset, +8..15 int64 length, +16..23 uint64 XXH3-64
    public const int RowEncodingOffset = 184;    // 184..187   uint32 row encoding (0 = f32, 1 = f16, 2 = i8; from version 2, reserved zero in version 1)
    public const int ChecksumOffset = 4088;      // 4088..4095 uint64 XXH3-64 of bytes 0..4087 (this header minus this field)

    /// <summary>
    /// The segment format version that records a row encoding other than float32; float32 segments are still
    /// written as version 1, byte for byte as before, so older builds keep reading them.
    /// </summary>
    public const uint RowsFormatVersion = 2;

    /// <summary>
    /// The segment format version whose id index holds only positions (uint32, in id order: 4 bytes an entry
    /// instead of the (id, position) pairs' 16); what writers write. Older versions stay readable.
    /// </summary>
    public const uint CompactIdIndexFormatVersion = 3;

    /// <summary>The newest segment format version this build reads and writes.</summary>
    public const uint NewestFormatVersion = CompactIdIndexFormatVersion;

    public const ulong FlagHasVectors = 1;

    // Regions of the .evs file, in file order.
    public const int DirectoryRegion = 0, CodesRegion = 1, IdsRegion = 2, PayloadRegion = 3, IdIndexRegion = 4;
    public const int CodesFileRegionCount = 5;
    // The regions of the .evv file: the rows, then (int8 rows only) the per-dimension offsets and scales.
    public const int VectorsRegion = 0, RowParametersRegion = 1;

    public static readonly string[] CodesFileRegionNames = ["list directory", "codes", "ids", "payload addresses", "id index"];
    public static readonly string[] VectorsFileRegionNames = ["vectors", "row parameters"];

    public static ReadOnlySpan<byte> CodesMagic => "EVSEGCOD"u8;
    public static ReadOnlySpan<byte> VectorsMagic => "EVSEGVEC"u8;

    public uint Version { get; set; } = NewestFormatVersion;
    public SegmentShape Shape { get; set; }
    public long Count { get; set; }
    public long SegmentNumber { get; set; }
    public ulong Flags { get; set; }
    public ulong Companion { get; set; }
    public Region[] Regions { get; set; } = [];

    /// <summary>
    /// Region lengths of a .evs file of this shape and count; throws <see cref="OverflowException"/> if they do not
    /// fit a long. For <see cref="CodeLayout.Pq4FastScan"/> the codes region's length depends on how the entries
    /// spread over the lists (each list is padded to whole blocks), so its entry is the most it can be,
    /// count × m / 2 + min(count, nlist) × <see cref="FastScan.BlockBytes"/> (each of the at most min(count, nlist)
    /// non-empty lists pads less than one block): what the writer plans for and a reader's bound. The id index takes
    /// 4 bytes an entry from <see cref="CompactIdIndexFormatVersion"/> on, 16 before.
    /// </summary>
    public static long[] CodesFileRegionLengths(SegmentShape shape, long count, uint version = NewestFormatVersion) =>
    [
        checked((long)shape.NList * 2 * sizeof(long)),
        shape.Layout == CodeLayout.Pq4FastScan
            ? checked(count * (shape.CodeSize / 2) + Math.Min(count, shape.NList) * FastScan.BlockBytes(shape.CodeSize))
            : checked(count * shape.CodeSize),
        checked(count * sizeof(long)),
        checked(count * sizeof(long)),
        version >= CompactIdIndexFormatVersion ? checked(count * sizeof(uint)) : checked(count * 2 * sizeof(long)),
    ];

    /// <summary>
    /// Region lengths of a .evv file: the rows (count × row bytes), and for int8 rows the parameters (dimension
    /// offsets and scales, float32); throws <see cref="OverflowException"/> if they do not fit a long.
    /// </summary>
    public static long[] VectorsFileRegionLengths(SegmentShape shape, long count) => shape.Rows == RowEncoding.Int8
        ? [checked(count * shape.RowBytes), 2L * shape.Dimension * sizeof(float)]
        : [checked(count * shape.RowBytes)];

    /// <summary>Regions of a .evv file of this shape.</summary>
    public static int VectorsFileRegionCount(SegmentShape shape) => shape.Rows == RowEncoding.Int8 ? 2 : 1;

    /// <summary>Places regions of the given lengths one after another behind the header, each 64-byte aligned.</summary>
    public static Region[] Plan(long[] lengths)
    {
        var regions = new Region[lengths.Length];
        long offset = Size;
        for (int i = 0; i < lengths.Length; i++)
        {
            offset = FileHeaders.AlignUp(offset);
            regions[i] = new Region(offset, lengths[i], 0);
            offset = checked(offset + lengths[i]);
        }
        return regions;
    }

    /// <summary>Fills <paramref name="header"/> (4096 bytes) and its checksum.</summary>
    public void WriteTo(Span<byte> header, ReadOnlySpan<byte> magic)
    {
        header[..Size].Clear();
        magic.CopyTo(header[MagicOffset..]);
        BinaryPrimitives.WriteUInt32LittleEndian(header[VersionOffset..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(header[HeaderSizeOffset..], Size);
        BinaryPrimitives.WriteUInt32LittleEndian(header[LayoutOffset..], (uint)Shape.Layout);
        BinaryPrimitives.WriteInt32LittleEndian(header[NListOffset..], Shape.NList);
        BinaryPrimitives.WriteInt32LittleEndian(header[CodeSizeOffset..], Shape.CodeSize);
        BinaryPrimitives.WriteInt32LittleEndian(header[DimensionOffset..], Shape.Dimension);
        BinaryPrimitives.WriteInt64LittleEndian(header[CountOffset..], Count);
        BinaryPrimitives.WriteInt64LittleEndian(header[SegmentNumberOffset..], SegmentNumber);
        BinaryPrimitives.WriteUInt64LittleEndian(header[FlagsOffset..], Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(header[CompanionOffset..], Companion);
        if (Version >= RowsFormatVersion) BinaryPrimitives.WriteUInt32LittleEndian(header[RowEncodingOffset..], (uint)Shape.Rows);
        for (int i = 0; i < Regions.Length; i++)
        {
            var entry = header[(RegionsOffset + i * RegionEntrySize)..];
            BinaryPrimitives.WriteInt64LittleEndian(entry, Regions[i].Offset);
            BinaryPrimitives.WriteInt64LittleEndian(entry[8..], Regions[i].Length);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[16..], Regions[i].Checksum);
        }
        BinaryPrimitives.WriteUInt64LittleEndian(header[ChecksumOffset..], FileHeaders.Checksum(header[..ChecksumOffset]));
    }

    /// <summary>
    /// Parses a header after checking, in this order, its magic, format version, own checksum and header size;
    /// the fields themselves are left for the caller to compare with what it expects.
    /// </summary>
    public static SegmentHeader Read(ReadOnlySpan<byte> header, ReadOnlySpan<byte> magic, int regionCount, string path)
    {
        if (!header[..magic.Length].SequenceEqual(magic))
            throw new CorruptFileException(path, $"not a segment file of this kind: the first 8 bytes are not \"{System.Text.Encoding.ASCII.GetString(magic)}\"");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header[VersionOffset..]);
        FileHeaders.CheckVersion(path, version, NewestFormatVersion);
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(header[ChecksumOffset..]);
        if (stored != FileHeaders.Checksum(header[..ChecksumOffset]))
            throw new CorruptFileException(path, "the header checksum does not match; the header is damaged");
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(header[HeaderSizeOffset..]);
        if (size != Size) throw new CorruptFileException(path, $"header size is {size}, expected {Size}");
        ulong flags = BinaryPrimitives.ReadUInt64LittleEndian(header[FlagsOffset..]);
        if ((flags & ~FlagHasVectors) != 0) throw new CorruptFileException(path, $"unknown flags 0x{flags:X}");
        var rows = RowEncoding.Float32; // version 1 knows only float32 rows
        if (version >= RowsFormatVersion)
        {
            uint value = BinaryPrimitives.ReadUInt32LittleEndian(header[RowEncodingOffset..]);
            rows = (RowEncoding)value;
            if (!Enum.IsDefined(rows)) throw new CorruptFileException(path, $"unknown row encoding {value} (this build knows 0 = f32, 1 = f16, 2 = i8)");
        }
        var regions = new Region[regionCount];
        for (int i = 0; i < regionCount; i++)
        {
            var entry = header[(RegionsOffset + i * RegionEntrySize)..];
            regions[i] = new Region(
                BinaryPrimitives.ReadInt64LittleEndian(entry),
                BinaryPrimitives.ReadInt64LittleEndian(entry[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]));
        }
        return new SegmentHeader
        {
            Version = version,
            Shape = new SegmentShape(
                BinaryPrimitives.ReadInt32LittleEndian(header[NListOffset..]),
                BinaryPrimitives.ReadInt32LittleEndian(header[CodeSizeOffset..]),
                BinaryPrimitives.ReadInt32LittleEndian(header[DimensionOffset..]),
                (CodeLayout)BinaryPrimitives.ReadUInt32LittleEndian(header[LayoutOffset..]),
                (flags & FlagHasVectors) != 0,
                rows),
            Count = BinaryPrimitives.ReadInt64LittleEndian(header[CountOffset..]),
            SegmentNumber = BinaryPrimitives.ReadInt64LittleEndian(header[SegmentNumberOffset..]),
            Flags = flags,
            Companion = BinaryPrimitives.ReadUInt64LittleEndian(header[CompanionOffset..]),
            Regions = regions,
        };
    }

    /// <summary>
    /// Checks that every region has the length this shape and count imply, starts 64-byte aligned after the
    /// header and the region before it, and ends inside the file, all in overflow-checked 64-bit arithmetic.
    /// </summary>
    /// <param name="expectedLengths">The length each region must have.</param>
    /// <param name="names">Region names for messages.</param>
    /// <param name="fileLength">Length of the file.</param>
    /// <param name="path">The file, for messages.</param>
    /// <param name="boundedRegion">
    /// A region whose expected length is only an upper bound (the codes region of a pq4fs segment, whose exact
    /// length the caller checks against the list directory), or -1 when every length is exact.
    /// </param>
    public void ValidateRegions(long[] expectedLengths, string[] names, long fileLength, string path, int boundedRegion = -1)
    {
        long previousEnd = Size;
        for (int i = 0; i < Regions.Length; i++)
        {
            var r = Regions[i];
            if (i == boundedRegion)
            {
                if (r.Length < 0 || r.Length > expectedLengths[i])
                    throw new CorruptFileException(path, $"the {names[i]} region is {r.Length} bytes long, expected 0..{expectedLengths[i]} for this shape and count");
            }
            else if (r.Length != expectedLengths[i])
                throw new CorruptFileException(path, $"the {names[i]} region is {r.Length} bytes long, expected {expectedLengths[i]} for this shape and count");
            if (r.Offset < previousEnd || r.Offset % FileHeaders.RegionAlignment != 0)
                throw new CorruptFileException(path, $"the {names[i]} region starts at {r.Offset}, which overlaps the data before it or is not {FileHeaders.RegionAlignment}-byte aligned");
            if (r.Offset > fileLength || r.Length > fileLength - r.Offset)
                throw new CorruptFileException(path, $"the {names[i]} region (offset {r.Offset}, length {r.Length}) ends beyond the end of the file ({fileLength} bytes); the file is truncated or damaged");
            previousEnd = r.Offset + r.Length; // cannot overflow: both are within fileLength
        }
    }
}
