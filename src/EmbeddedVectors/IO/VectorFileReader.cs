using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace EmbeddedVectors.IO;

/// <summary>
/// Reads a vector file (.fvecs, .ivecs, .bvecs or .npy) row by row, in batches, without loading it whole;
/// files larger than memory and larger than 2 GiB are fine.
/// </summary>
/// <remarks>
/// TEXMEX files repeat the dimension before every row. Only the first row's is read at open; the others
/// are checked as their rows are read, so a row of another dimension is reported when it is reached.
/// </remarks>
public sealed class VectorFileReader : IDisposable
{
    private const int ChunkBytes = 1 << 20;
    private const int TexmexPrefixBytes = 4;

    private readonly FileStream _stream;
    private readonly long _dataOffset;
    private readonly int _prefixBytes;
    private readonly int _rowBytes;
    private readonly bool _oneDimensional;
    private readonly byte[] _chunk;
    // The row the stream is positioned at; differs from Position only after a read failed part-way.
    private long _streamRow;
    private bool _disposed;

    private VectorFileReader(string path, FileStream stream, VectorFileFormat format, VectorElementType elementType,
        int dimension, long count, long dataOffset, int prefixBytes, bool oneDimensional)
    {
        Path = path;
        _stream = stream;
        Format = format;
        ElementType = elementType;
        Dimension = dimension;
        Count = count;
        _dataOffset = dataOffset;
        _prefixBytes = prefixBytes;
        _rowBytes = prefixBytes + dimension * VectorFileFormats.SizeOf(elementType);
        _oneDimensional = oneDimensional;
        long dataBytes = count * _rowBytes;
        _chunk = new byte[Math.Max(_rowBytes, (int)Math.Min(ChunkBytes, dataBytes))];
        _stream.Position = dataOffset;
    }

    /// <summary>The file being read, as given to <see cref="Open"/>.</summary>
    public string Path { get; }

    /// <summary>The file's format, chosen by its extension.</summary>
    public VectorFileFormat Format { get; }

    /// <summary>The type of the values stored in the file.</summary>
    public VectorElementType ElementType { get; }

    /// <summary>The number of values per row.</summary>
    public int Dimension { get; }

    /// <summary>The number of rows in the file.</summary>
    public long Count { get; }

    /// <summary>The number of rows read (or skipped with <see cref="Seek"/>) so far: the next read starts at this row.</summary>
    public long Position { get; private set; }

    /// <summary>Opens a vector file; its format is chosen by the extension (.fvecs, .ivecs, .bvecs, .npy), case-insensitively.</summary>
    /// <exception cref="ArgumentException">The extension is not one of those.</exception>
    /// <exception cref="CorruptFileException">The file is empty, truncated, or its header is malformed or unsupported.</exception>
    public static VectorFileReader Open(string path)
    {
        VectorFileFormat format = VectorFileFormats.FromPath(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 64 * 1024, FileOptions.SequentialScan);
        try
        {
            long length = stream.Length;
            if (format == VectorFileFormat.Npy)
            {
                NpyHeader header = NpyHeader.Read(stream, path, length);
                return new VectorFileReader(path, stream, format, header.ElementType, header.Dimension, header.Rows,
                    header.DataOffset, prefixBytes: 0, header.OneDimensional);
            }
            VectorElementType type = VectorFileFormats.TexmexElementType(format)!.Value;
            (int dimension, long count) = ReadTexmexShape(stream, path, length, type);
            return new VectorFileReader(path, stream, format, type, dimension, count, 0, TexmexPrefixBytes, oneDimensional: false);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads up to <c>destination.Length / Dimension</c> whole rows into <paramref name="destination"/>, row-major,
    /// converting integer and byte values to float.
    /// </summary>
    /// <returns>The number of rows read; 0 once every row has been read.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than one row.</exception>
    /// <exception cref="CorruptFileException">A row's dimension prefix differs from the first row's, the file shrank, or it is a 1-D id array.</exception>
    public int ReadFloats(Span<float> destination)
    {
        if (_oneDimensional)
            throw new CorruptFileException(Path, $"1-D array of shape ({Count},): this is an id file, not vectors; vectors need a 2-D array (rows, dimension)");
        return ReadRows(destination);
    }

    /// <summary>
    /// Reads up to <c>destination.Length / Dimension</c> whole rows of an integer file (.ivecs, or .npy of
    /// <c>&lt;i4</c>, <c>&lt;i8</c> or <c>|u1</c>; also .bvecs) into <paramref name="destination"/>, row-major.
    /// </summary>
    /// <returns>The number of rows read; 0 once every row has been read.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than one row.</exception>
    /// <exception cref="CorruptFileException">The file holds float values, or a row's dimension prefix differs from the first row's.</exception>
    public int ReadInt64(Span<long> destination)
    {
        ThrowIfFloat("64-bit");
        return ReadRows(destination);
    }

    /// <summary>As <see cref="ReadInt64"/>, into 32-bit integers; a 64-bit value that does not fit is reported as corrupt.</summary>
    internal int ReadInt32(Span<int> destination)
    {
        ThrowIfFloat("32-bit");
        return ReadRows(destination);
    }

    /// <summary>Makes the next read start at <paramref name="row"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is negative or greater than <see cref="Count"/>.</exception>
    public void Seek(long row)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(row, Count);
        _stream.Position = _dataOffset + row * _rowBytes;
        _streamRow = row;
        Position = row;
    }

    /// <summary>Closes the file.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stream.Dispose();
    }

    private static (int Dimension, long Count) ReadTexmexShape(FileStream stream, string path, long length, VectorElementType type)
    {
        if (length == 0)
            throw new CorruptFileException(path, "empty file: no rows, so no dimension");
        if (length < TexmexPrefixBytes)
            throw new CorruptFileException(path, $"truncated: the file is {length} bytes long and ends inside row 0's dimension prefix");
        int dimension = ReadPrefixAt(stream, 0);
        if (dimension <= 0 || dimension > VectorFileFormats.MaxDimension)
            throw new CorruptFileException(path, $"row 0 has dimension {dimension}; it must be between 1 and {VectorFileFormats.MaxDimension} (is this really a TEXMEX file?)");

        long rowBytes = TexmexPrefixBytes + (long)dimension * VectorFileFormats.SizeOf(type);
        long count = length / rowBytes;
        long tail = length - count * rowBytes;
        if (tail != 0)
        {
            // A file with rows of mixed dimensions also fails the size check; say so when row 1 shows it.
            if (count >= 2 || (count == 1 && tail >= TexmexPrefixBytes))
            {
                int second = ReadPrefixAt(stream, rowBytes);
                if (second != dimension)
                    throw new CorruptFileException(path, $"row 1 has dimension {second} but row 0 has dimension {dimension}");
            }
            throw new CorruptFileException(path,
                $"truncated: the file ends at byte offset {length}, {tail} bytes into row {count} " +
                $"(rows of dimension {dimension} take {rowBytes} bytes each)");
        }
        return (dimension, count);
    }

    private static int ReadPrefixAt(FileStream stream, long offset)
    {
        Span<byte> prefix = stackalloc byte[TexmexPrefixBytes];
        stream.Position = offset;
        stream.ReadExactly(prefix);
        return BinaryPrimitives.ReadInt32LittleEndian(prefix);
    }

    private void ThrowIfFloat(string width)
    {
        if (ElementType == VectorElementType.Float32)
            throw new CorruptFileException(Path, $"holds float32 values, but {width} integers (ids) were expected: use an .ivecs file or an integer .npy ('<i4', '<i8')");
    }

    private int ReadRows<T>(Span<T> destination) where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (destination.Length < Dimension)
            throw new ArgumentException($"The destination holds {destination.Length} values, less than one row of {Dimension}.", nameof(destination));
        int rows = (int)Math.Min(destination.Length / Dimension, Count - Position);
        if (rows == 0) return 0;
        if (_streamRow != Position)
            Seek(Position);

        // npy rows of the wanted type need no conversion: read them straight into the destination.
        if (_prefixBytes == 0 && IsSameType<T>() && BitConverter.IsLittleEndian)
        {
            Span<byte> bytes = MemoryMarshal.AsBytes(destination[..(rows * Dimension)]);
            _streamRow = -1;
            ReadExactly(bytes);
            _streamRow = Position += rows;
            return rows;
        }

        int rowsPerChunk = _chunk.Length / _rowBytes;
        int done = 0;
        while (done < rows)
        {
            int chunkRows = Math.Min(rows - done, rowsPerChunk);
            Span<byte> chunk = _chunk.AsSpan(0, chunkRows * _rowBytes);
            _streamRow = -1;
            ReadExactly(chunk);
            _streamRow = Position + chunkRows;
            for (int r = 0; r < chunkRows; r++)
            {
                Span<byte> row = chunk.Slice(r * _rowBytes, _rowBytes);
                if (_prefixBytes != 0)
                {
                    int rowDimension = BinaryPrimitives.ReadInt32LittleEndian(row);
                    if (rowDimension != Dimension)
                        throw new CorruptFileException(Path, $"row {Position} has dimension {rowDimension} but row 0 has dimension {Dimension}");
                }
                Convert(row[_prefixBytes..], destination.Slice((done + r) * Dimension, Dimension));
                Position++;
            }
            done += chunkRows;
        }
        return rows;
    }

    private bool IsSameType<T>() => ElementType switch
    {
        VectorElementType.Float32 => typeof(T) == typeof(float),
        VectorElementType.Int32 => typeof(T) == typeof(int),
        VectorElementType.Int64 => typeof(T) == typeof(long),
        _ => typeof(T) == typeof(byte),
    };

    private void ReadExactly(Span<byte> buffer)
    {
        try
        {
            _stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException e)
        {
            throw new CorruptFileException(Path, $"the file ended early (was it truncated while open?): {e.Message}");
        }
    }

    // typeof(T) checks are constants for value types, so each instantiation keeps only its own branch.
    private void Convert<T>(Span<byte> source, Span<T> target) where T : unmanaged
    {
        if (!BitConverter.IsLittleEndian)
            ReverseEndianness(ElementType, source);
        if (typeof(T) == typeof(float))
            ToFloat(ElementType, source, MemoryMarshal.Cast<T, float>(target));
        else if (typeof(T) == typeof(long))
            ToInt64(source, MemoryMarshal.Cast<T, long>(target));
        else
            ToInt32(source, MemoryMarshal.Cast<T, int>(target));
    }

    /// <summary>Converts little-endian values of <paramref name="elementType"/> to floats (shared with <see cref="VectorStreamReader"/>).</summary>
    internal static void ToFloat(VectorElementType elementType, ReadOnlySpan<byte> source, Span<float> target)
    {
        switch (elementType)
        {
            case VectorElementType.Float32:
                MemoryMarshal.Cast<byte, float>(source).CopyTo(target);
                break;
            case VectorElementType.Int32:
                ReadOnlySpan<int> ints = MemoryMarshal.Cast<byte, int>(source);
                for (int i = 0; i < ints.Length; i++) target[i] = ints[i];
                break;
            case VectorElementType.Int64:
                ReadOnlySpan<long> longs = MemoryMarshal.Cast<byte, long>(source);
                for (int i = 0; i < longs.Length; i++) target[i] = longs[i];
                break;
            default:
                for (int i = 0; i < source.Length; i++) target[i] = source[i];
                break;
        }
    }

    private void ToInt64(ReadOnlySpan<byte> source, Span<long> target)
    {
        switch (ElementType)
        {
            case VectorElementType.Int64:
                MemoryMarshal.Cast<byte, long>(source).CopyTo(target);
                break;
            case VectorElementType.Int32:
                ReadOnlySpan<int> ints = MemoryMarshal.Cast<byte, int>(source);
                for (int i = 0; i < ints.Length; i++) target[i] = ints[i];
                break;
            default:
                for (int i = 0; i < source.Length; i++) target[i] = source[i];
                break;
        }
    }

    private void ToInt32(ReadOnlySpan<byte> source, Span<int> target)
    {
        switch (ElementType)
        {
            case VectorElementType.Int32:
                MemoryMarshal.Cast<byte, int>(source).CopyTo(target);
                break;
            case VectorElementType.Int64:
                ReadOnlySpan<long> longs = MemoryMarshal.Cast<byte, long>(source);
                for (int i = 0; i < longs.Length; i++)
                {
                    if (longs[i] is < int.MinValue or > int.MaxValue)
                        throw new CorruptFileException(Path, $"row {Position}, column {i}: value {longs[i]} does not fit in a 32-bit integer");
                    target[i] = (int)longs[i];
                }
                break;
            default:
                for (int i = 0; i < source.Length; i++) target[i] = source[i];
                break;
        }
    }

    /// <summary>Turns little-endian values into the machine's order (only on a big-endian machine).</summary>
    internal static void ReverseEndianness(VectorElementType elementType, Span<byte> source)
    {
        switch (VectorFileFormats.SizeOf(elementType))
        {
            case 4:
                var ints = MemoryMarshal.Cast<byte, int>(source);
                BinaryPrimitives.ReverseEndianness(ints, ints);
                break;
            case 8:
                var longs = MemoryMarshal.Cast<byte, long>(source);
                BinaryPrimitives.ReverseEndianness(longs, longs);
                break;
        }
    }
}
