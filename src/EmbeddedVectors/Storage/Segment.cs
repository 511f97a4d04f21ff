using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using EmbeddedVectors.IO;
using EmbeddedVectors.Kernels;

namespace EmbeddedVectors.Storage;

/// <summary>
/// A read-only, memory-mapped segment written by <see cref="SegmentWriter"/>: per inverted list, the entries'
/// codes, ids and payload addresses as spans over the mapping, plus the full vectors when kept.
/// See docs/format/segment.md.
/// For <see cref="CodeLayout.Pq4FastScan"/> a list's codes are its packed fast-scan blocks; <see cref="CodeAt"/>
/// unpacks one entry's code for either layout.
/// </summary>
/// <remarks>
/// <para>Open reads only the headers and the list directory and validates them before anything is mapped; the
/// large regions are checksummed only by <see cref="Verify"/>, so opening a multi-GB segment stays cheap.</para>
/// <para>Every pointer handed out is computed from validated offsets and lengths and lies inside the mapping,
/// whatever the file contains: a damaged file gives wrong numbers or a <see cref="CorruptFileException"/>,
/// never a read outside the mapping. Spans must not be used after <see cref="Dispose"/>.</para>
/// </remarks>
internal sealed unsafe class Segment : IDisposable
{
    private readonly MappedFile _codesFile;
    private readonly MappedFile? _vectorsFile;
    private readonly Region[] _codesRegions;
    private readonly Region[]? _vectorsRegions;
    private readonly long[] _listStarts;
    private readonly int[] _listCounts;
    private readonly long[] _codeOffsets; // nlist + 1 prefix sums: list l's codes are bytes [_codeOffsets[l], _codeOffsets[l + 1]) of the codes region
    private byte* _codes;
    private long* _ids;
    private long* _payloads;
    private long* _idIndex; // version 1–2: pairs (id, position), sorted by id
    private uint* _idPositions; // version 3: positions, in id order (null before)
    private byte* _rows; // encoded rows, Rows.RowBytes each, in position order

    [ThreadStatic] private static float[]? t_decoded;

    private Segment(long number, SegmentShape shape, long count, MappedFile codesFile, Region[] codesRegions,
        MappedFile? vectorsFile, Region[]? vectorsRegions, RowCodec? rows, long[] listStarts, int[] listCounts, long[] codeOffsets, uint version)
    {
        Number = number;
        Shape = shape;
        Count = count;
        _codesFile = codesFile;
        _codesRegions = codesRegions;
        _vectorsFile = vectorsFile;
        _vectorsRegions = vectorsRegions;
        Rows = rows;
        _listStarts = listStarts;
        _listCounts = listCounts;
        _codeOffsets = codeOffsets;
        BytesOnDisk = codesFile.Length + (vectorsFile?.Length ?? 0);
        _codes = codesFile.Base + codesRegions[SegmentHeader.CodesRegion].Offset;
        _ids = (long*)(codesFile.Base + codesRegions[SegmentHeader.IdsRegion].Offset);
        _payloads = (long*)(codesFile.Base + codesRegions[SegmentHeader.PayloadRegion].Offset);
        byte* idIndex = codesFile.Base + codesRegions[SegmentHeader.IdIndexRegion].Offset;
        if (version >= SegmentHeader.CompactIdIndexFormatVersion) _idPositions = (uint*)idIndex;
        else _idIndex = (long*)idIndex;
        _rows = vectorsFile != null ? vectorsFile.Base + vectorsRegions![SegmentHeader.VectorsRegion].Offset : null;
    }

    /// <summary>The segment's number, as in its file names.</summary>
    public long Number { get; }

    /// <summary>The segment's shape, equal to the one given to <see cref="Open"/>.</summary>
    public SegmentShape Shape { get; }

    /// <summary>Entries in the segment.</summary>
    public long Count { get; }

    /// <summary>How the rows are encoded (with the int8 parameters stored in the segment), or null without vectors.</summary>
    public RowCodec? Rows { get; }

    /// <summary>Bytes of the <c>.evs</c> an entry takes beyond its code: id, payload address and id index entry (20 from format version 3, 32 before).</summary>
    public int IdBytesPerEntry => _idPositions != null ? 2 * sizeof(long) + sizeof(uint) : 4 * sizeof(long);

    /// <summary>Size of the segment's files together.</summary>
    public long BytesOnDisk { get; }

    /// <summary>
    /// Opens segment <paramref name="segmentNumber"/> in <paramref name="directory"/> after validating its
    /// headers and list directory against <paramref name="expected"/>, then maps its files read-only.
    /// </summary>
    /// <exception cref="CorruptFileException">A file is missing, truncated, damaged, of another format version or shape.</exception>
    public static Segment Open(string directory, long segmentNumber, SegmentShape expected)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentOutOfRangeException.ThrowIfNegative(segmentNumber);
        expected.Validate(nameof(expected));
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Segment files are little-endian and are read in place.");

        MappedFile? codesFile = null, vectorsFile = null;
        try
        {
            codesFile = new MappedFile(Path.Combine(directory, SegmentWriter.CodesFileName(segmentNumber)));
            var header = ReadHeader(codesFile, SegmentHeader.CodesMagic, SegmentHeader.CodesFileRegionCount, segmentNumber, expected);
            header.ValidateRegions(RegionLengths(codesFile.Path, header.Count, c => SegmentHeader.CodesFileRegionLengths(expected, c, header.Version)),
                SegmentHeader.CodesFileRegionNames, codesFile.Length, codesFile.Path,
                boundedRegion: expected.Layout == CodeLayout.Pq4FastScan ? SegmentHeader.CodesRegion : -1);
            (long[] starts, int[] counts) = ReadDirectory(codesFile, header.Regions[SegmentHeader.DirectoryRegion], expected, header.Count);
            long[] codeOffsets = CodeOffsets(codesFile.Path, header.Regions[SegmentHeader.CodesRegion], expected, counts);

            Region[]? vectorsRegions = null;
            RowCodec? rows = null;
            if (expected.HasVectors)
            {
                vectorsFile = new MappedFile(Path.Combine(directory, SegmentWriter.VectorsFileName(segmentNumber)));
                var vectorsHeader = ReadHeader(vectorsFile, SegmentHeader.VectorsMagic, SegmentHeader.VectorsFileRegionCount(expected), segmentNumber, expected);
                ulong vectorsHeaderChecksum = vectorsFile.HeaderChecksum;
                if (vectorsHeader.Count != header.Count || vectorsHeaderChecksum != header.Companion)
                    throw new CorruptFileException(vectorsFile.Path, $"does not belong with {codesFile.Path}: it was written with another copy of the segment");
                vectorsHeader.ValidateRegions(RegionLengths(vectorsFile.Path, header.Count, c => SegmentHeader.VectorsFileRegionLengths(expected, c)),
                    SegmentHeader.VectorsFileRegionNames, vectorsFile.Length, vectorsFile.Path);
                vectorsRegions = vectorsHeader.Regions;
                rows = expected.Rows == RowEncoding.Int8
                    ? ReadRowParameters(vectorsFile, vectorsRegions[SegmentHeader.RowParametersRegion], expected.Dimension)
                    : RowCodec.Plain(expected.Rows, expected.Dimension);
            }

            // Only now, with every offset and length validated, is anything mapped.
            codesFile.Map();
            vectorsFile?.Map(randomAccess: true);
            return new Segment(segmentNumber, expected, header.Count, codesFile, header.Regions, vectorsFile, vectorsRegions, rows, starts, counts, codeOffsets, header.Version);
        }
        catch
        {
            codesFile?.Dispose();
            vectorsFile?.Dispose();
            throw;
        }
    }

    private static SegmentHeader ReadHeader(MappedFile file, ReadOnlySpan<byte> magic, int regionCount, long number, SegmentShape expected)
    {
        if (file.Length < SegmentHeader.Size)
            throw new CorruptFileException(file.Path, $"truncated: {file.Length} bytes, shorter than the {SegmentHeader.Size}-byte header");
        Span<byte> bytes = new byte[SegmentHeader.Size];
        file.Read(bytes, 0);
        var header = SegmentHeader.Read(bytes, magic, regionCount, file.Path);
        file.HeaderChecksum = BinaryPrimitives.ReadUInt64LittleEndian(bytes[SegmentHeader.ChecksumOffset..]);
        if (header.SegmentNumber != number)
            throw new CorruptFileException(file.Path, $"the header says segment {header.SegmentNumber}, expected {number}");
        if (header.Shape.Layout is not (CodeLayout.Pq8 or CodeLayout.Pq4FastScan))
            throw new CorruptFileException(file.Path, $"code layout {(uint)header.Shape.Layout} is not supported by this build (only 1, pq8, and 2, pq4fs)");
        if (expected.FirstDifference(header.Shape) is { } difference)
            throw new CorruptFileException(file.Path, $"shape mismatch: {difference}");
        if (header.Count < 0)
            throw new CorruptFileException(file.Path, $"negative entry count {header.Count}");
        return header;
    }

    /// <summary>int8 rows: the offsets and scales in the .evv file, checksummed and checked now (a few KiB).</summary>
    private static RowCodec ReadRowParameters(MappedFile file, Region region, int dimension)
    {
        var bytes = new byte[region.Length]; // 8 × dimension, validated against the shape
        file.Read(bytes, region.Offset);
        if (FileHeaders.Checksum(bytes) != region.Checksum)
            throw new CorruptFileException(file.Path, "the row parameters do not match their checksum; the file is damaged");
        return RowCodec.Int8FromParameters(bytes, dimension, file.Path);
    }

    private static long[] RegionLengths(string path, long count, Func<long, long[]> lengths)
    {
        try
        {
            return lengths(count);
        }
        catch (OverflowException)
        {
            throw new CorruptFileException(path, $"entry count {count} is too large: its regions would exceed 2^63 bytes");
        }
    }

    /// <summary>Reads the list directory and checks it tiles positions 0..count-1 in list order.</summary>
    private static (long[] Starts, int[] Counts) ReadDirectory(MappedFile file, Region region, SegmentShape shape, long count)
    {
        var bytes = new byte[region.Length]; // nlist × 16, at most the file's length
        file.Read(bytes, region.Offset);
        if (FileHeaders.Checksum(bytes) != region.Checksum)
            throw new CorruptFileException(file.Path, "the list directory does not match its checksum; the file is damaged");
        var starts = new long[shape.NList];
        var counts = new int[shape.NList];
        long next = 0;
        int maxPerList = shape.MaxListEntries; // a list's codes are handed out as one span
        for (int l = 0; l < shape.NList; l++)
        {
            long start = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(l * 16));
            long n = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(l * 16 + 8));
            if (start != next)
                throw new CorruptFileException(file.Path, $"list directory: list {l} starts at {start}, expected {next} (lists must be contiguous)");
            if (n < 0 || n > count - next)
                throw new CorruptFileException(file.Path, $"list directory: list {l} has {n} entries, but only {count - next} of the {count} remain");
            if (n > maxPerList)
                throw new CorruptFileException(file.Path, $"list directory: list {l} has {n} entries, more than the {maxPerList} whose codes fit one span");
            starts[l] = start;
            counts[l] = (int)n;
            next += n;
        }
        if (next != count)
            throw new CorruptFileException(file.Path, $"list directory: the lists hold {next} entries, the header says {count}");
        return (starts, counts);
    }

    /// <summary>
    /// Where each list's codes start in the codes region (nlist + 1 prefix sums), checked to add up to the region's
    /// recorded length: pq8 lists take code size bytes an entry, pq4fs lists whole blocks. The region itself was
    /// already checked to lie inside the file.
    /// </summary>
    private static long[] CodeOffsets(string path, Region codes, SegmentShape shape, int[] counts)
    {
        var offsets = new long[counts.Length + 1];
        try
        {
            for (int l = 0; l < counts.Length; l++)
                offsets[l + 1] = checked(offsets[l] + shape.ListCodeBytes(counts[l]));
        }
        catch (OverflowException)
        {
            throw new CorruptFileException(path, "list directory: the lists' codes would exceed 2^63 bytes");
        }
        if (offsets[^1] != codes.Length)
            throw new CorruptFileException(path, $"list directory: the lists' codes take {offsets[^1]} bytes, but the codes region is {codes.Length} bytes long");
        return offsets;
    }

    /// <summary>Position of the first entry of <paramref name="list"/>.</summary>
    public long ListStart(int list)
    {
        CheckList(list);
        return _listStarts[list];
    }

    /// <summary>Entries in <paramref name="list"/>.</summary>
    public int ListCount(int list)
    {
        CheckList(list);
        return _listCounts[list];
    }

    /// <summary>
    /// The codes of <paramref name="list"/>: for pq8 back to back in position order (code size bytes an entry);
    /// for pq4fs its packed fast-scan blocks, <see cref="FastScan.BytesFor"/>(count, m) bytes, the last block
    /// zero-padded, which <see cref="FastScan.Scan"/> and <see cref="FastScan.Unpack"/> read.
    /// </summary>
    public ReadOnlySpan<byte> Codes(int list)
    {
        CheckList(list);
        if (Shape.Layout == CodeLayout.Pq8)
            return new ReadOnlySpan<byte>(_codes + _listStarts[list] * Shape.CodeSize, _listCounts[list] * Shape.CodeSize);
        // Validated at open: each list's bytes fit an int and all of them end inside the codes region.
        return new ReadOnlySpan<byte>(_codes + _codeOffsets[list], (int)(_codeOffsets[list + 1] - _codeOffsets[list]));
    }

    /// <summary>Bytes of <paramref name="list"/>'s codes, the length of <see cref="Codes"/>.</summary>
    public long CodeBytes(int list)
    {
        CheckList(list);
        return _codeOffsets[list + 1] - _codeOffsets[list];
    }

    /// <summary>
    /// Copies the unpacked code (code size bytes, one a sub-quantizer) of the <paramref name="index"/>-th entry
    /// of <paramref name="list"/> into <paramref name="code"/>, for either layout: what
    /// <see cref="SegmentWriter.Append"/> takes, e.g. to copy entries into a compacted segment.
    /// </summary>
    /// <param name="list">The entry's list.</param>
    /// <param name="index">The entry's index within the list, 0..<see cref="ListCount"/> − 1 (its position is <see cref="ListStart"/> + index).</param>
    /// <param name="code">Receives the code; exactly the code size.</param>
    public void CodeAt(int list, int index, Span<byte> code)
    {
        CheckList(list);
        if ((uint)index >= (uint)_listCounts[list])
            throw new ArgumentOutOfRangeException(nameof(index), index, $"List {list} has {_listCounts[list]} entries.");
        int m = Shape.CodeSize;
        if (code.Length != m)
            throw new ArgumentException($"The code buffer is {code.Length} bytes, expected {m}.", nameof(code));
        if (Shape.Layout == CodeLayout.Pq8)
            new ReadOnlySpan<byte>(_codes + (_listStarts[list] + index) * m, m).CopyTo(code);
        else
            FastScan.Unpack(Codes(list), index, m, code);
    }

    /// <summary>The ids of <paramref name="list"/>, in position order.</summary>
    public ReadOnlySpan<long> Ids(int list)
    {
        CheckList(list);
        return new ReadOnlySpan<long>(_ids + _listStarts[list], _listCounts[list]);
    }

    /// <summary>The payload addresses of <paramref name="list"/>, in position order.</summary>
    public ReadOnlySpan<long> PayloadAddresses(int list)
    {
        CheckList(list);
        return new ReadOnlySpan<long>(_payloads + _listStarts[list], _listCounts[list]);
    }

    /// <summary>Every id, in position order.</summary>
    public ReadOnlySpan<long> AllIds => new(_ids, checked((int)Count));

    /// <summary>The id of the entry at <paramref name="position"/>.</summary>
    public long IdAt(long position)
    {
        CheckPosition(position);
        return _ids[position];
    }

    /// <summary>The payload address of the entry at <paramref name="position"/>.</summary>
    public long PayloadAddressAt(long position)
    {
        CheckPosition(position);
        return _payloads[position];
    }

    /// <summary>
    /// The full vector of the entry at <paramref name="position"/>, at the stored precision: float32 rows in place in
    /// the mapping; other encodings decoded into a per-thread buffer that the next call on the same thread reuses.
    /// </summary>
    /// <exception cref="InvalidOperationException">The segment keeps no vectors.</exception>
    public ReadOnlySpan<float> VectorAt(long position)
    {
        var row = RowAt(position);
        if (Rows!.Encoding == RowEncoding.Float32) return MemoryMarshal.Cast<byte, float>(row);
        var decoded = t_decoded is { } buffer && buffer.Length == Shape.Dimension ? buffer : t_decoded = new float[Shape.Dimension];
        Rows.Decode(row, decoded);
        return decoded;
    }

    /// <summary>The encoded row of the entry at <paramref name="position"/> (<see cref="Rows"/> says how), in place in the mapping.</summary>
    /// <exception cref="InvalidOperationException">The segment keeps no vectors.</exception>
    public ReadOnlySpan<byte> RowAt(long position)
    {
        CheckPosition(position);
        if (_rows == null) throw new InvalidOperationException($"Segment {Number} keeps no vectors.");
        long rowBytes = Rows!.RowBytes;
        return new ReadOnlySpan<byte>(_rows + position * rowBytes, (int)rowBytes);
    }

    /// <summary>The position of the entry with <paramref name="id"/>, or -1 when the segment has none.</summary>
    /// <exception cref="CorruptFileException">The id index points to a position that does not hold the id.</exception>
    public long Find(long id)
    {
        CheckOpen();
        long lo = 0, hi = Count - 1;
        while (lo <= hi)
        {
            long mid = lo + ((hi - lo) >> 1);
            long found = IndexedId(mid, out long position);
            if (found < id) lo = mid + 1;
            else if (found > id) hi = mid - 1;
            else
            {
                if (_ids[position] != id)
                    throw new CorruptFileException(_codesFile.Path, $"the id index maps id {id} to position {position}, which does not hold it");
                return position;
            }
        }
        return -1;
    }

    /// <summary>
    /// Entry <paramref name="rank"/> of the id index: the id and the position the index gives for it. The position
    /// comes from the file, so it is checked before it is used to read the ids region.
    /// </summary>
    private long IndexedId(long rank, out long position)
    {
        if (_idPositions != null)
        {
            position = _idPositions[rank];
            if ((ulong)position >= (ulong)Count)
                throw new CorruptFileException(_codesFile.Path, $"the id index holds position {position} at entry {rank}, beyond the segment's {Count} entries");
            return _ids[position];
        }
        position = _idIndex[2 * rank + 1];
        if ((ulong)position >= (ulong)Count)
            throw new CorruptFileException(_codesFile.Path, $"the id index maps id {_idIndex[2 * rank]} to position {position}, beyond the segment's {Count} entries");
        return _idIndex[2 * rank];
    }

    /// <summary>
    /// Checks every region against its checksum and the id index against the ids; reads every byte of the
    /// segment, so it is for scrubbing and repair tools rather than the open path.
    /// </summary>
    /// <exception cref="CorruptFileException">Names the file and region that is damaged.</exception>
    public void Verify()
    {
        CheckOpen();
        VerifyRegions(_codesFile, _codesRegions, SegmentHeader.CodesFileRegionNames);
        if (_vectorsFile != null) VerifyRegions(_vectorsFile, _vectorsRegions!, SegmentHeader.VectorsFileRegionNames);
        // Strictly increasing ids whose positions hold them: the index is a sorted permutation of the ids.
        long previous = 0;
        for (long i = 0; i < Count; i++)
        {
            long id = IndexedId(i, out long position);
            if (i > 0 && id <= previous)
                throw new CorruptFileException(_codesFile.Path, $"the id index region is not strictly sorted at entry {i}");
            if (_ids[position] != id)
                throw new CorruptFileException(_codesFile.Path, $"the id index region maps id {id} to position {position}, which does not hold it");
            previous = id;
        }
    }

    /// <summary>
    /// What <see cref="Verify"/> checks, without stopping at the first damage (for repair): one message per region
    /// whose checksum fails, and whether the ids (with their payload addresses) and the rows can still be trusted.
    /// </summary>
    public List<string> FindDamage(out bool idsIntact, out bool rowsIntact)
    {
        CheckOpen();
        var damage = new List<string>();
        idsIntact = true;
        for (int i = 0; i < _codesRegions.Length; i++)
        {
            if (RegionIsIntact(_codesFile, _codesRegions[i])) continue;
            damage.Add(RegionDamage(_codesFile, _codesRegions[i], SegmentHeader.CodesFileRegionNames[i]));
            idsIntact &= i != SegmentHeader.IdsRegion && i != SegmentHeader.PayloadRegion;
        }
        rowsIntact = _vectorsFile != null;
        for (int i = 0; _vectorsFile != null && i < _vectorsRegions!.Length; i++)
        {
            if (RegionIsIntact(_vectorsFile, _vectorsRegions[i])) continue;
            damage.Add(RegionDamage(_vectorsFile, _vectorsRegions[i], SegmentHeader.VectorsFileRegionNames[i]));
            rowsIntact = false;
        }
        return damage;
    }

    private static bool RegionIsIntact(MappedFile file, Region region) => FileHeaders.Checksum(file.Base + region.Offset, region.Length) == region.Checksum;

    private static string RegionDamage(MappedFile file, Region region, string name) => $"{file.Path}: {RegionProblem(region, name)}";

    private static string RegionProblem(Region region, string name)
        => $"the {name} region (offset {region.Offset}, length {region.Length}) does not match its checksum; the file is damaged";

    private static void VerifyRegions(MappedFile file, Region[] regions, string[] names)
    {
        for (int i = 0; i < regions.Length; i++)
        {
            if (!RegionIsIntact(file, regions[i]))
                throw new CorruptFileException(file.Path, RegionProblem(regions[i], names[i]));
        }
    }

    private void CheckList(int list)
    {
        CheckOpen();
        if ((uint)list >= (uint)_listCounts.Length)
            throw new ArgumentOutOfRangeException(nameof(list), list, $"Lists are 0..{_listCounts.Length - 1}.");
    }

    private void CheckPosition(long position)
    {
        CheckOpen();
        if ((ulong)position >= (ulong)Count)
            throw new ArgumentOutOfRangeException(nameof(position), position, $"Positions are 0..{Count - 1}.");
    }

    private void CheckOpen() => ObjectDisposedException.ThrowIf(_codes == null, this);

    /// <summary>Unmaps the files. Spans obtained earlier must no longer be used.</summary>
    public void Dispose()
    {
        if (_codes == null) return;
        _codes = null;
        _ids = _payloads = _idIndex = null;
        _idPositions = null;
        _rows = null;
        _codesFile.Dispose();
        _vectorsFile?.Dispose();
    }

    /// <summary>A file opened for validation, then mapped read-only.</summary>
    private sealed class MappedFile : IDisposable
    {
        private FileStream? _stream;
        private MemoryMappedFile? _map;
        private MemoryMappedViewAccessor? _view;
        private bool _acquired;

        public MappedFile(string path)
        {
            Path = path;
            // Delete sharing lets the store remove a compacted segment while readers still have it mapped.
            try
            {
                _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 0, FileOptions.RandomAccess);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                // The store's manifest names every segment it opens: a missing file is a damaged store.
                throw new CorruptFileException(path, "missing: the store's manifest names this segment file, but it is not there.");
            }
            Length = _stream.Length;
        }

        public string Path { get; }

        /// <summary>The length validated at open; the mapping covers at least this much.</summary>
        public long Length { get; }

        public ulong HeaderChecksum { get; set; }

        public byte* Base { get; private set; }

        public void Read(Span<byte> buffer, long offset) => FileHeaders.ReadExactly(_stream!.SafeFileHandle, buffer, offset, Path);

        /// <param name="randomAccess">
        /// Tell the kernel reads will be scattered (re-ranking reads single rows), so a page fault reads that page
        /// rather than the device's whole read-ahead window: on a cold cache this cut the bytes read by a query
        /// from megabytes to kilobytes.
        /// </param>
        public void Map(bool randomAccess = false)
        {
            _map = MemoryMappedFile.CreateFromFile(_stream!, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            _stream = null; // the map owns it now
            _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            // Files are immutable, but if one shrank after validation the mapping must still cover what was validated.
            if (_view.Capacity < Length)
                throw new CorruptFileException(Path, $"the file shrank from {Length} to {_view.Capacity} bytes while being opened");
            byte* pointer = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            _acquired = true;
            Base = pointer + _view.PointerOffset;
            if (randomAccess) MemoryAdvice.Random(pointer, _view.PointerOffset + Length);
        }

        public void Dispose()
        {
            if (_acquired)
            {
                _view!.SafeMemoryMappedViewHandle.ReleasePointer();
                _acquired = false;
            }
            Base = null;
            _view?.Dispose();
            _map?.Dispose();
            _stream?.Dispose();
        }
    }
}
