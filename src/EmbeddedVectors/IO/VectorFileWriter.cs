using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace EmbeddedVectors.IO;

/// <summary>
/// Writes a vector file (.fvecs, .ivecs, .bvecs or .npy) a batch of rows at a time, for files too large to
/// hold in memory. Dispose it to finish the file: an .npy header gets its final row count then.
/// </summary>
public sealed class VectorFileWriter : IDisposable
{
    private const int ChunkBytes = 1 << 20;

    private readonly FileStream _stream;
    private readonly VectorFileFormat _format;
    private readonly VectorElementType _elementType;
    private readonly int _dimension;
    private readonly int _prefixBytes;
    private readonly int _rowBytes;
    private readonly byte[] _chunk;
    private int _used;
    private bool _disposed;

    private VectorFileWriter(FileStream stream, VectorFileFormat format, int dimension, VectorElementType elementType)
    {
        _stream = stream;
        _format = format;
        _dimension = dimension;
        _elementType = elementType;
        _prefixBytes = format == VectorFileFormat.Npy ? 0 : 4;
        _rowBytes = _prefixBytes + dimension * VectorFileFormats.SizeOf(elementType);
        _chunk = new byte[Math.Max(_rowBytes, ChunkBytes)];
    }

    /// <summary>The number of rows written so far.</summary>
    public long Count { get; private set; }

    /// <summary>
    /// Creates (or overwrites) a vector file whose format is chosen by the extension. .fvecs stores
    /// <see cref="VectorElementType.Float32"/>, .ivecs <see cref="VectorElementType.Int32"/>, .bvecs
    /// <see cref="VectorElementType.UInt8"/>; .npy any of the four.
    /// </summary>
    /// <exception cref="ArgumentException">The extension is unknown, or the element type does not fit the format.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is not between 1 and 2^20.</exception>
    public static VectorFileWriter Create(string path, int dimension, VectorElementType elementType)
    {
        VectorFileFormat format = VectorFileFormats.FromPath(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dimension, VectorFileFormats.MaxDimension);
        _ = VectorFileFormats.SizeOf(elementType);
        VectorElementType? required = VectorFileFormats.TexmexElementType(format);
        if (required is { } fixedType && fixedType != elementType)
            throw new ArgumentException($"A {System.IO.Path.GetExtension(path)} file stores {fixedType} values, not {elementType}; use .npy for other element types.", nameof(elementType));

        var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1, FileOptions.SequentialScan);
        try
        {
            var writer = new VectorFileWriter(stream, format, dimension, elementType);
            // A placeholder count; the header is fixed-size so Dispose can rewrite it with the real one.
            if (format == VectorFileFormat.Npy)
                stream.Write(NpyHeader.Format(elementType, 0, dimension));
            return writer;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes whole rows, row-major. For integer element types every value must be a whole number in the
    /// type's range.
    /// </summary>
    /// <exception cref="ArgumentException">The length is not a multiple of the dimension, or a value does not fit the element type.</exception>
    public void WriteFloats(ReadOnlySpan<float> rows) => WriteRows(rows);

    /// <summary>Writes whole rows, row-major, converting to the element type; values must fit it.</summary>
    /// <exception cref="ArgumentException">The length is not a multiple of the dimension, or a value does not fit the element type.</exception>
    public void WriteInt32(ReadOnlySpan<int> rows) => WriteRows(rows);

    /// <summary>Writes whole rows, row-major, converting to the element type; values must fit it.</summary>
    /// <exception cref="ArgumentException">The length is not a multiple of the dimension, or a value does not fit the element type.</exception>
    public void WriteInt64(ReadOnlySpan<long> rows) => WriteRows(rows);

    /// <summary>Writes whole rows of bytes, row-major; values must fit the element type.</summary>
    internal void WriteBytes(ReadOnlySpan<byte> rows) => WriteRows(rows);

    /// <summary>Flushes the rows, patches an .npy header with the final row count, and closes the file.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            Flush();
            if (_format == VectorFileFormat.Npy)
            {
                _stream.Position = 0;
                _stream.Write(NpyHeader.Format(_elementType, Count, _dimension));
            }
        }
        finally
        {
            _stream.Dispose();
        }
    }

    private void WriteRows<T>(ReadOnlySpan<T> rows) where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (rows.Length % _dimension != 0)
            throw new ArgumentException($"{rows.Length} values are not a whole number of rows of dimension {_dimension}.", nameof(rows));
        for (int start = 0; start < rows.Length; start += _dimension)
        {
            if (_chunk.Length - _used < _rowBytes)
                Flush();
            Span<byte> row = _chunk.AsSpan(_used, _rowBytes);
            if (_prefixBytes != 0)
                BinaryPrimitives.WriteInt32LittleEndian(row, _dimension);
            // A row that fails conversion is left out whole: _used moves only after it is complete.
            ReadOnlySpan<T> values = rows.Slice(start, _dimension);
            int bad = Encode(values, row[_prefixBytes..]);
            if (bad >= 0)
            {
                string value = string.Create(CultureInfo.InvariantCulture, $"{values[bad]}");
                throw new ArgumentException($"Row {Count}, column {bad}: {value} is not a whole number that fits in {_elementType}.", nameof(rows));
            }
            _used += _rowBytes;
            Count++;
        }
    }

    private void Flush()
    {
        _stream.Write(_chunk, 0, _used);
        _used = 0;
    }

    /// <returns>The index of the first value that does not fit the element type, or -1 when all did.</returns>
    private int Encode<T>(ReadOnlySpan<T> values, Span<byte> target) where T : unmanaged
    {
        if (IsElementType<T>())
        {
            MemoryMarshal.AsBytes(values).CopyTo(target);
        }
        else
        {
            switch (_elementType)
            {
                case VectorElementType.Float32:
                    Span<float> floats = MemoryMarshal.Cast<byte, float>(target);
                    for (int i = 0; i < values.Length; i++) floats[i] = AsFloat(values, i);
                    break;
                case VectorElementType.Int32:
                    Span<int> ints = MemoryMarshal.Cast<byte, int>(target);
                    for (int i = 0; i < values.Length; i++)
                    {
                        if (!TryIntegral(values, i, int.MinValue, int.MaxValue, out long value)) return i;
                        ints[i] = (int)value;
                    }
                    break;
                case VectorElementType.Int64:
                    Span<long> longs = MemoryMarshal.Cast<byte, long>(target);
                    for (int i = 0; i < values.Length; i++)
                    {
                        if (!TryIntegral(values, i, long.MinValue, long.MaxValue, out long value)) return i;
                        longs[i] = value;
                    }
                    break;
                default:
                    for (int i = 0; i < values.Length; i++)
                    {
                        if (!TryIntegral(values, i, byte.MinValue, byte.MaxValue, out long value)) return i;
                        target[i] = (byte)value;
                    }
                    break;
            }
        }
        if (!BitConverter.IsLittleEndian)
            ReverseEndianness(target);
        return -1;
    }

    private bool IsElementType<T>() => _elementType switch
    {
        VectorElementType.Float32 => typeof(T) == typeof(float),
        VectorElementType.Int32 => typeof(T) == typeof(int),
        VectorElementType.Int64 => typeof(T) == typeof(long),
        _ => typeof(T) == typeof(byte),
    };

    // Only called for integer sources: a float source into a float file is copied by Encode.
    private static float AsFloat<T>(ReadOnlySpan<T> values, int i) where T : unmanaged
    {
        if (typeof(T) == typeof(int)) return MemoryMarshal.Cast<T, int>(values)[i];
        if (typeof(T) == typeof(long)) return MemoryMarshal.Cast<T, long>(values)[i];
        return MemoryMarshal.Cast<T, byte>(values)[i];
    }

    private static bool TryIntegral<T>(ReadOnlySpan<T> values, int i, long min, long max, out long value) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            float f = MemoryMarshal.Cast<T, float>(values)[i];
            // 2^63 is the first float above long.MaxValue; NaN and infinities fail these tests too.
            if (f != MathF.Truncate(f) || f < min || f >= 9.223372036854775808e18f)
            {
                value = 0;
                return false;
            }
            value = (long)f;
        }
        else if (typeof(T) == typeof(int)) value = MemoryMarshal.Cast<T, int>(values)[i];
        else if (typeof(T) == typeof(long)) value = MemoryMarshal.Cast<T, long>(values)[i];
        else value = MemoryMarshal.Cast<T, byte>(values)[i];

        return value >= min && value <= max;
    }

    private void ReverseEndianness(Span<byte> target)
    {
        switch (VectorFileFormats.SizeOf(_elementType))
        {
            case 4:
                var ints = MemoryMarshal.Cast<byte, int>(target);
                BinaryPrimitives.ReverseEndianness(ints, ints);
                break;
            case 8:
                var longs = MemoryMarshal.Cast<byte, long>(target);
                BinaryPrimitives.ReverseEndianness(longs, longs);
                break;
        }
    }
}
