using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using EmbeddedVectors.Kernels;

namespace EmbeddedVectors.Storage;

/// <summary>
/// Writes one immutable segment: entries arrive grouped by list, in list order, and stream straight to their
/// regions; <see cref="Complete"/> adds the list directory, the sorted id index, checksums and headers, then
/// makes the files durable and gives them their final names. See docs/format/segment.md.
/// </summary>
/// <remarks>
/// The entry count is known up front, so every region's offset is fixed at <see cref="Create"/> and each region
/// is written sequentially at its own offset through its own buffer, hashed on the way. Only the ids stay in
/// memory (8 bytes an entry, 12 while sorting at the end) to build the id index.
/// <para>For <see cref="CodeLayout.Pq4FastScan"/> entries still arrive as unpacked codes (m bytes, values below
/// 16); they are packed into the current list's current block of 32, which is written out when it is full, when
/// the list changes and at <see cref="Complete"/> (zero-padded). Only the codes region's length is then unknown
/// up front: it is planned at its upper bound and the header records the length actually written.</para>
/// </remarks>
internal sealed class SegmentWriter : IDisposable
{
    private const int CodesBufferBytes = 1 << 20;
    private const int IdBufferBytes = 256 << 10;
    private const int VectorsBufferBytes = 4 << 20;

    private readonly string _directory;
    private readonly long _number;
    private readonly SegmentShape _shape;
    private readonly long _count;
    private readonly uint _version;
    private readonly string _codesTemp;
    private readonly string? _vectorsTemp;
    private readonly IStoreFileSystem _fileSystem;
    private readonly StoreFile _codesFile;
    private readonly StoreFile? _vectorsFile;
    private readonly Region[] _codesPlan;
    private readonly Region[] _vectorsPlan;
    private readonly RegionWriter _codes, _ids, _payloads;
    private readonly RegionWriter? _vectors;
    private readonly RowCodec? _rows;     // how vectors are encoded into the .evv file (null without vectors)
    private readonly byte[]? _rowBuffer;  // one encoded row, when rows are not float32
    private readonly long[] _allIds;
    private readonly long[] _listCounts;
    private readonly byte[]? _block; // pq4fs: the block being packed, of the list _blockList
    private int _blockFill;
    private int _blockList;
    private long _appended;
    private int _currentList;
    private bool _completing;
    private bool _completed;
    private bool _disposed;

    /// <summary>The .evs file name of segment <paramref name="segmentNumber"/>, e.g. <c>seg-000001.evs</c>.</summary>
    public static string CodesFileName(long segmentNumber) => $"seg-{segmentNumber:D6}.evs";

    /// <summary>The .evv file name of segment <paramref name="segmentNumber"/>, e.g. <c>seg-000001.evv</c>.</summary>
    public static string VectorsFileName(long segmentNumber) => $"seg-{segmentNumber:D6}.evv";

    private SegmentWriter(string directory, long number, SegmentShape shape, long count, RowCodec? rows, uint version)
    {
        _directory = directory;
        _number = number;
        _shape = shape;
        _count = count;
        _version = version;
        _codesPlan = SegmentHeader.Plan(SegmentHeader.CodesFileRegionLengths(shape, count, version));
        _vectorsPlan = SegmentHeader.Plan(SegmentHeader.VectorsFileRegionLengths(shape, shape.HasVectors ? count : 0));
        _allIds = new long[count];
        _listCounts = new long[shape.NList];
        _block = shape.Layout == CodeLayout.Pq4FastScan ? new byte[FastScan.BlockBytes(shape.CodeSize)] : null;
        _rows = rows;
        _rowBuffer = rows is { Encoding: not RowEncoding.Float32 } ? new byte[rows.RowBytes] : null;
        _codesTemp = Path.Combine(directory, CodesFileName(number) + FileHeaders.TempSuffix);
        _vectorsTemp = shape.HasVectors ? Path.Combine(directory, VectorsFileName(number) + FileHeaders.TempSuffix) : null;
        _fileSystem = StoreFileSystem.For(directory);
        try
        {
            _codesFile = CreateFile(_codesTemp, _codesPlan[^1].End);
            _codes = new RegionWriter(_codesFile, _codesPlan[SegmentHeader.CodesRegion], CodesBufferBytes);
            _ids = new RegionWriter(_codesFile, _codesPlan[SegmentHeader.IdsRegion], IdBufferBytes);
            _payloads = new RegionWriter(_codesFile, _codesPlan[SegmentHeader.PayloadRegion], IdBufferBytes);
            if (_vectorsTemp != null)
            {
                _vectorsFile = CreateFile(_vectorsTemp, _vectorsPlan[^1].End);
                _vectors = new RegionWriter(_vectorsFile, _vectorsPlan[SegmentHeader.VectorsRegion], VectorsBufferBytes);
            }
        }
        catch
        {
            CloseAndDeleteTempFiles();
            throw;
        }
    }

    /// <summary>
    /// Starts segment <paramref name="segmentNumber"/> of <paramref name="count"/> entries in
    /// <paramref name="directory"/>, writing to <c>.tmp</c> files until <see cref="Complete"/>.
    /// </summary>
    /// <param name="directory">The store directory.</param>
    /// <param name="segmentNumber">The segment's number, as in its file names.</param>
    /// <param name="shape">The index's shape, with the row encoding of its <c>.evv</c> file.</param>
    /// <param name="count">Entries that will be appended.</param>
    /// <param name="rows">
    /// How to encode the rows: required for <see cref="RowEncoding.Int8"/> (its trained parameters, also copied
    /// into the <c>.evv</c> file); null for float32 and float16, which need none.
    /// </param>
    /// <exception cref="ArgumentException">A field of <paramref name="shape"/> is out of range, e.g. an odd m for pq4fs, or <paramref name="rows"/> does not match it.</exception>
    /// <param name="formatVersion">0: the newest; tests write older versions to check they stay readable.</param>
    public static SegmentWriter Create(string directory, long segmentNumber, SegmentShape shape, long count, RowCodec? rows = null, uint formatVersion = 0)
    {
        uint version = formatVersion == 0 ? SegmentHeader.NewestFormatVersion : formatVersion;
        ArgumentOutOfRangeException.ThrowIfLessThan(version, shape.OldestFormatVersion, nameof(formatVersion));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(version, SegmentHeader.NewestFormatVersion, nameof(formatVersion));
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentOutOfRangeException.ThrowIfNegative(segmentNumber);
        shape.Validate(nameof(shape));
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        // The ids are sorted in one managed array at Complete.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Array.MaxLength);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Segment files are little-endian and are written from memory as is.");
        if (shape.HasVectors)
        {
            rows ??= shape.Rows == RowEncoding.Int8
                ? throw new ArgumentException("int8 rows need their trained offsets and scales.", nameof(rows))
                : RowCodec.Plain(shape.Rows, shape.Dimension);
            if (rows.Encoding != shape.Rows || rows.Dimension != shape.Dimension)
                throw new ArgumentException($"The row codec ({rows.Encoding.ToShortName()}, dimension {rows.Dimension}) does not match the shape ({shape.Rows.ToShortName()}, dimension {shape.Dimension}).", nameof(rows));
        }
        return new SegmentWriter(directory, segmentNumber, shape, count, shape.HasVectors ? rows : null, version);
    }

    /// <summary>Appends one entry to list <paramref name="list"/>; lists must come in non-decreasing order.</summary>
    /// <param name="list">The entry's inverted list.</param>
    /// <param name="code">
    /// Its PQ code, exactly the code size: one byte a sub-quantizer, unpacked also for pq4fs (values below 16).
    /// </param>
    /// <param name="id">Its id, unique within the segment.</param>
    /// <param name="payloadAddress">Where its payload lives in the payload log.</param>
    /// <param name="vector">Its full vector (dimension floats); ignored, and may be empty, when the shape has no vectors.</param>
    /// <exception cref="InvalidOperationException">The list comes before one already appended, or all entries were appended.</exception>
    public void Append(int list, ReadOnlySpan<byte> code, long id, long payloadAddress, ReadOnlySpan<float> vector)
    {
        BeginAppend(list, 1);
        if (code.Length != _shape.CodeSize)
            throw new ArgumentException($"The code is {code.Length} bytes, expected {_shape.CodeSize}.", nameof(code));
        CheckCodeValues(code, nameof(code));
        if (_shape.HasVectors && vector.Length != _shape.Dimension)
            throw new ArgumentException($"The vector has {vector.Length} floats, expected {_shape.Dimension}.", nameof(vector));
        WriteCodes(list, code, 1);
        _ids.WriteInt64(id);
        _payloads.WriteInt64(payloadAddress);
        WriteRows(vector, 1);
        _allIds[_appended] = id;
        EndAppend(list, 1);
    }

    /// <summary>Appends <paramref name="ids"/>.Length entries to list <paramref name="list"/> at once.</summary>
    /// <param name="list">The entries' inverted list.</param>
    /// <param name="codes">Their codes, back to back (entries × code size bytes), unpacked also for pq4fs.</param>
    /// <param name="ids">Their ids.</param>
    /// <param name="payloadAddresses">Their payload addresses, one an id.</param>
    /// <param name="vectors">Their vectors, back to back (entries × dimension); ignored when the shape has no vectors.</param>
    /// <exception cref="InvalidOperationException">The list comes before one already appended, or there are more entries than announced.</exception>
    public void AppendList(int list, ReadOnlySpan<byte> codes, ReadOnlySpan<long> ids, ReadOnlySpan<long> payloadAddresses, ReadOnlySpan<float> vectors)
    {
        int n = ids.Length;
        BeginAppend(list, n);
        if (codes.Length != (long)n * _shape.CodeSize)
            throw new ArgumentException($"{codes.Length} code bytes for {n} entries, expected {(long)n * _shape.CodeSize}.", nameof(codes));
        CheckCodeValues(codes, nameof(codes));
        if (payloadAddresses.Length != n)
            throw new ArgumentException($"{payloadAddresses.Length} payload addresses for {n} entries.", nameof(payloadAddresses));
        if (_shape.HasVectors && vectors.Length != (long)n * _shape.Dimension)
            throw new ArgumentException($"{vectors.Length} vector floats for {n} entries, expected {(long)n * _shape.Dimension}.", nameof(vectors));
        WriteCodes(list, codes, n);
        _ids.Write(MemoryMarshal.AsBytes(ids));
        _payloads.Write(MemoryMarshal.AsBytes(payloadAddresses));
        WriteRows(vectors, n);
        ids.CopyTo(_allIds.AsSpan((int)_appended));
        EndAppend(list, n);
    }

    /// <summary>Writes <paramref name="n"/> validated vectors to the .evv file, encoded as the shape says.</summary>
    private void WriteRows(ReadOnlySpan<float> vectors, int n)
    {
        if (_vectors == null) return;
        if (_rowBuffer == null)
        {
            _vectors.Write(MemoryMarshal.AsBytes(vectors)); // float32 rows are stored as given
            return;
        }
        int dimension = _shape.Dimension;
        for (int i = 0; i < n; i++)
        {
            _rows!.Encode(vectors.Slice(i * dimension, dimension), _rowBuffer);
            _vectors.Write(_rowBuffer);
        }
    }

    private void BeginAppend(int list, int n)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completing) throw new InvalidOperationException("Complete was already called.");
        if ((uint)list >= (uint)_shape.NList)
            throw new ArgumentOutOfRangeException(nameof(list), list, $"Lists are 0..{_shape.NList - 1}.");
        if (list < _currentList)
            throw new InvalidOperationException($"List {list} comes after list {_currentList}; entries must be appended in list order.");
        if (n > _count - _appended)
            throw new InvalidOperationException($"The segment was created for {_count} entries; {_appended} are appended and {n} more do not fit.");
        // Readers hand out a list's codes as one span, which cannot exceed int.MaxValue bytes.
        if (_listCounts[list] + n > _shape.MaxListEntries)
            throw new InvalidOperationException($"List {list} would exceed {_shape.MaxListEntries} entries, the most one segment can hold in a list.");
    }

    /// <summary>pq4fs codes are 4-bit: rejects a byte of 16 or more before anything is written.</summary>
    private void CheckCodeValues(ReadOnlySpan<byte> codes, string paramName)
    {
        if (_block == null) return;
        int bad = codes.IndexOfAnyInRange((byte)FastScan.Centroids, byte.MaxValue);
        if (bad >= 0)
            throw new ArgumentException(
                $"Code byte {bad % _shape.CodeSize} of entry {bad / _shape.CodeSize} is {codes[bad]}; pq4fs codes are 4-bit, each byte below {FastScan.Centroids}.", paramName);
    }

    /// <summary>Writes <paramref name="n"/> validated codes of <paramref name="list"/>: as they are for pq8, packed into blocks for pq4fs.</summary>
    private void WriteCodes(int list, ReadOnlySpan<byte> codes, int n)
    {
        if (_block == null)
        {
            _codes.Write(codes);
            return;
        }
        if (list != _blockList)
        {
            FlushBlock(); // the previous list's last block, zero-padded
            _blockList = list;
        }
        int m = _shape.CodeSize;
        for (int i = 0; i < n; i++)
        {
            FastScan.Pack(codes.Slice(i * m, m), _block, _blockFill, m);
            if (++_blockFill == FastScan.BlockSize) FlushBlock();
        }
    }

    private void FlushBlock()
    {
        if (_block == null || _blockFill == 0) return;
        _codes.Write(_block);
        Array.Clear(_block);
        _blockFill = 0;
    }

    private void EndAppend(int list, int n)
    {
        _currentList = list;
        _listCounts[list] += n;
        _appended += n;
    }

    /// <summary>
    /// Finishes the segment: writes the list directory, id index, checksums and headers, fsyncs the files,
    /// renames them to their final names (replacing a leftover of the same name) and fsyncs the directory.
    /// </summary>
    /// <returns>Bytes written, both files together.</returns>
    /// <exception cref="InvalidOperationException">Not exactly the announced count was appended, or an id appears twice.</exception>
    public long Complete()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completing) throw new InvalidOperationException("Complete was already called.");
        if (_appended != _count)
            throw new InvalidOperationException($"The segment was created for {_count} entries but {_appended} were appended.");
        _completing = true; // even if what follows fails: the regions' state is spent, only Dispose remains

        var codesRegions = (Region[])_codesPlan.Clone();
        codesRegions[SegmentHeader.DirectoryRegion] = WriteDirectory(codesRegions[SegmentHeader.DirectoryRegion]);
        codesRegions[SegmentHeader.CodesRegion] = FinishCodes();
        codesRegions[SegmentHeader.IdsRegion] = _ids.Finish();
        codesRegions[SegmentHeader.PayloadRegion] = _payloads.Finish();
        codesRegions[SegmentHeader.IdIndexRegion] = WriteIdIndex(codesRegions[SegmentHeader.IdIndexRegion]);

        Span<byte> header = new byte[SegmentHeader.Size];
        ulong companion = 0;
        if (_vectorsFile != null && _vectors != null)
        {
            Region[] vectorsRegions = _shape.Rows == RowEncoding.Int8 ? [_vectors.Finish(), WriteRowParameters()] : [_vectors.Finish()];
            new SegmentHeader
            {
                Version = _version, Shape = _shape, Count = _count, SegmentNumber = _number,
                Flags = SegmentHeader.FlagHasVectors, Regions = vectorsRegions,
            }.WriteTo(header, SegmentHeader.VectorsMagic);
            companion = BinaryPrimitives.ReadUInt64LittleEndian(header[SegmentHeader.ChecksumOffset..]);
            _vectorsFile.Write(header, 0);
        }
        new SegmentHeader
        {
            Version = _version, Shape = _shape, Count = _count, SegmentNumber = _number, Companion = companion, Regions = codesRegions,
            Flags = _shape.HasVectors ? SegmentHeader.FlagHasVectors : 0,
        }.WriteTo(header, SegmentHeader.CodesMagic);
        _codesFile.Write(header, 0);

        // Data must be on disk before the rename makes the files visible under their final names.
        long bytes = _codesFile.Length;
        _codesFile.Sync();
        _codesFile.Dispose();
        if (_vectorsFile != null)
        {
            bytes += _vectorsFile.Length;
            _vectorsFile.Sync();
            _vectorsFile.Dispose();
            _fileSystem.Move(_vectorsTemp!, Path.Combine(_directory, VectorsFileName(_number)));
        }
        _fileSystem.Move(_codesTemp, Path.Combine(_directory, CodesFileName(_number)));
        _completed = true;
        _fileSystem.SyncDirectory(_directory);
        return bytes;
    }

    /// <summary>
    /// Ends the codes region. pq4fs planned it at its upper bound; the header records the length written, which
    /// must be each list's whole blocks back to back. Whatever follows stays where it was planned.
    /// </summary>
    private Region FinishCodes()
    {
        if (_block == null) return _codes.Finish();
        FlushBlock();
        var region = _codes.Finish(exactLength: false);
        long expected = 0;
        foreach (long n in _listCounts) expected += _shape.ListCodeBytes(n);
        if (region.Length != expected)
            throw new InvalidOperationException($"Internal error: the codes region got {region.Length} bytes, the lists need {expected}.");
        return region;
    }

    /// <summary>int8 rows: the .evv file's copy of the offsets and scales, so the segment decodes on its own.</summary>
    private Region WriteRowParameters()
    {
        var planned = _vectorsPlan[SegmentHeader.RowParametersRegion];
        var parameters = new byte[_rows!.ParameterBytes];
        _rows.WriteParameters(parameters);
        var writer = new RegionWriter(_vectorsFile!, planned, parameters.Length);
        writer.Write(parameters);
        return writer.Finish();
    }

    private Region WriteDirectory(Region planned)
    {
        var writer = new RegionWriter(_codesFile, planned, (int)Math.Min(planned.Length, IdBufferBytes));
        long start = 0;
        foreach (long n in _listCounts)
        {
            writer.WriteInt64(start);
            writer.WriteInt64(n);
            start += n;
        }
        return writer.Finish();
    }

    private Region WriteIdIndex(Region planned)
    {
        // Sort the ids, carrying each one's position along; duplicates end up side by side. Count is at most
        // Array.MaxLength, so a position fits a uint32.
        var positions = new uint[_count];
        for (long i = 0; i < positions.Length; i++) positions[i] = (uint)i;
        Array.Sort(_allIds, positions);
        var writer = new RegionWriter(_codesFile, planned, (int)Math.Min(Math.Max(planned.Length, 16), CodesBufferBytes));
        for (long i = 0; i < _allIds.Length; i++)
        {
            if (i > 0 && _allIds[i] == _allIds[i - 1])
                throw new InvalidOperationException($"Id {_allIds[i]} appears more than once in segment {_number}; ids must be unique within a segment.");
            if (_version >= SegmentHeader.CompactIdIndexFormatVersion)
            {
                writer.WriteUInt32(positions[i]);
            }
            else
            {
                writer.WriteInt64(_allIds[i]);
                writer.WriteInt64(positions[i]);
            }
        }
        return writer.Finish();
    }

    private StoreFile CreateFile(string path, long length)
    {
        // Preallocating reports a full disk now rather than half-way; every write is positional.
        var file = _fileSystem.Create(path, length);
        try
        {
            file.SetLength(length);
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private void CloseAndDeleteTempFiles()
    {
        _codesFile?.Dispose();
        _vectorsFile?.Dispose();
        FileHeaders.DeleteQuietly(_codesTemp);
        if (_vectorsTemp != null) FileHeaders.DeleteQuietly(_vectorsTemp);
    }

    /// <summary>Deletes the temp files unless <see cref="Complete"/> succeeded.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_completed) CloseAndDeleteTempFiles();
    }

    /// <summary>Streams one region: buffers appends, writes them at the region's fixed offset, hashes as it goes.</summary>
    private sealed class RegionWriter(StoreFile file, Region region, int bufferBytes)
    {
        private readonly byte[] _buffer = new byte[Math.Max(bufferBytes, 16)];
        private readonly XxHash3 _hash = new();
        private int _used;
        private long _written;

        public void Write(ReadOnlySpan<byte> bytes)
        {
            if (bytes.Length > _buffer.Length - _used)
            {
                Flush();
                if (bytes.Length >= _buffer.Length)
                {
                    WriteThrough(bytes);
                    return;
                }
            }
            bytes.CopyTo(_buffer.AsSpan(_used));
            _used += bytes.Length;
        }

        public void WriteInt64(long value)
        {
            if (_buffer.Length - _used < sizeof(long)) Flush();
            BinaryPrimitives.WriteInt64LittleEndian(_buffer.AsSpan(_used), value);
            _used += sizeof(long);
        }

        public void WriteUInt32(uint value)
        {
            if (_buffer.Length - _used < sizeof(uint)) Flush();
            BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_used), value);
            _used += sizeof(uint);
        }

        /// <summary>
        /// Flushes and returns the region with its checksum and the length written, which must be the planned
        /// length unless <paramref name="exactLength"/> is false (the plan was an upper bound).
        /// </summary>
        public Region Finish(bool exactLength = true)
        {
            Flush();
            if (exactLength && _written != region.Length)
                throw new InvalidOperationException($"Internal error: region at {region.Offset} got {_written} bytes, planned {region.Length}.");
            return region with { Length = _written, Checksum = _hash.GetCurrentHashAsUInt64() };
        }

        private void Flush()
        {
            if (_used == 0) return;
            WriteThrough(_buffer.AsSpan(0, _used));
            _used = 0;
        }

        private void WriteThrough(ReadOnlySpan<byte> bytes)
        {
            // Callers check entry counts, so this only guards against a bug overwriting the next region.
            if (bytes.Length > region.Length - _written)
                throw new InvalidOperationException($"Internal error: region at {region.Offset} overflows its {region.Length} bytes.");
            _hash.Append(bytes);
            file.Write(bytes, region.Offset + _written);
            _written += bytes.Length;
        }
    }
}
