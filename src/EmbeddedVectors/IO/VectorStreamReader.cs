using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;

namespace EmbeddedVectors.IO;

/// <summary>
/// Reads vectors (.fvecs, .bvecs or .npy) from any <see cref="Stream"/> once, front to back, through a
/// <see cref="PipeReader"/>: standard input, a socket, a decompressing stream. Nothing is seeked and the row count
/// need not be known (a TEXMEX stream simply ends; an .npy stream must hold the rows its header declares).
/// </summary>
/// <remarks>
/// The pipe hands over the bytes the stream produced in whatever pieces it read them; a row split between two pieces
/// is copied out whole, the others are converted in place, so rows cost one copy into the caller's buffer.
/// </remarks>
public sealed class VectorStreamReader : IAsyncDisposable, IDisposable
{
    private const int TexmexPrefixBytes = 4;
    private const int NpyMaxHeaderBytes = 1 << 20;

    private readonly PipeReader _pipe;
    private readonly int _prefixBytes;
    private readonly int _valueBytes;
    private readonly byte[] _row;
    private bool _ended;
    private bool _disposed;

    private VectorStreamReader(PipeReader pipe, string name, VectorFileFormat format, VectorElementType elementType, int dimension, long? count, int prefixBytes)
    {
        _pipe = pipe;
        Name = name;
        Format = format;
        ElementType = elementType;
        Dimension = dimension;
        Count = count;
        _prefixBytes = prefixBytes;
        _valueBytes = VectorFileFormats.SizeOf(elementType);
        _row = new byte[RowBytes];
    }

    /// <summary>What the stream is called in error messages (a path, or "standard input").</summary>
    public string Name { get; }

    /// <summary>The stream's format, as given to <see cref="OpenAsync"/>.</summary>
    public VectorFileFormat Format { get; }

    /// <summary>The type of the values in the stream.</summary>
    public VectorElementType ElementType { get; }

    /// <summary>Values a row.</summary>
    public int Dimension { get; }

    /// <summary>The rows an .npy header declares; null for TEXMEX streams, whose length shows only at their end.</summary>
    public long? Count { get; }

    /// <summary>Rows read so far.</summary>
    public long Position { get; private set; }

    private int RowBytes => _prefixBytes + Dimension * _valueBytes;

    /// <summary>Reads the stream's header (an .npy header, or a TEXMEX stream's first dimension) and returns a reader for its rows.</summary>
    /// <param name="stream">The stream, read from its current position.</param>
    /// <param name="format"><see cref="VectorFileFormat.Fvecs"/>, <see cref="VectorFileFormat.Bvecs"/> or <see cref="VectorFileFormat.Npy"/>.</param>
    /// <param name="name">What to call the stream in error messages.</param>
    /// <param name="leaveOpen">Keep <paramref name="stream"/> open when the reader is disposed.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="ArgumentException"><paramref name="format"/> is .ivecs (ids, not vectors).</exception>
    /// <exception cref="CorruptFileException">The stream is empty or its header is malformed or unsupported.</exception>
    public static async ValueTask<VectorStreamReader> OpenAsync(Stream stream, VectorFileFormat format, string name, bool leaveOpen = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (format == VectorFileFormat.Ivecs)
            throw new ArgumentException("An .ivecs stream holds integer ids, not vectors: stream vectors as fvecs, bvecs or npy.", nameof(format));
        var pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 1 << 20, minimumReadSize: 64 << 10, leaveOpen: leaveOpen));
        try
        {
            if (format == VectorFileFormat.Npy)
            {
                NpyHeader header = await ReadNpyHeaderAsync(pipe, name, cancellationToken).ConfigureAwait(false);
                if (header.OneDimensional)
                    throw new CorruptFileException(name, $"1-D array of shape ({header.Rows},): this is an id array, not vectors; vectors need a 2-D array (rows, dimension)");
                return new VectorStreamReader(pipe, name, format, header.ElementType, header.Dimension, header.Rows, prefixBytes: 0);
            }
            VectorElementType type = VectorFileFormats.TexmexElementType(format)!.Value;
            ReadResult first = await pipe.ReadAtLeastAsync(TexmexPrefixBytes, cancellationToken).ConfigureAwait(false);
            if (first.Buffer.Length == 0) throw new CorruptFileException(name, "empty stream: no rows, so no dimension");
            if (first.Buffer.Length < TexmexPrefixBytes)
                throw new CorruptFileException(name, $"truncated: the stream ends after {first.Buffer.Length} bytes, inside row 0's dimension prefix");
            int dimension = ReadInt32(first.Buffer);
            // Only looked at: the prefix is part of row 0, which ReadFloatsAsync checks and consumes.
            pipe.AdvanceTo(first.Buffer.Start);
            if (dimension <= 0 || dimension > VectorFileFormats.MaxDimension)
                throw new CorruptFileException(name, $"row 0 has dimension {dimension}; it must be between 1 and {VectorFileFormats.MaxDimension} (is this really a {format.ToString().ToLowerInvariant()} stream?)");
            return new VectorStreamReader(pipe, name, format, type, dimension, count: null, TexmexPrefixBytes);
        }
        catch
        {
            await pipe.CompleteAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Reads up to <c>destination.Length / Dimension</c> whole rows into <paramref name="destination"/>, row-major, as floats;
    /// it waits for the stream only until at least one row is there.
    /// </summary>
    /// <returns>The rows read; 0 at the end of the stream.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than one row.</exception>
    /// <exception cref="CorruptFileException">A row has another dimension, the stream ends inside a row, or an .npy stream ends before its declared rows.</exception>
    public async ValueTask<int> ReadFloatsAsync(Memory<float> destination, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (destination.Length < Dimension)
            throw new ArgumentException($"The destination holds {destination.Length} values, less than one row of {Dimension}.", nameof(destination));
        long wanted = destination.Length / Dimension;
        if (Count is long declared) wanted = Math.Min(wanted, declared - Position);
        if (wanted == 0 || _ended) return 0;

        ReadResult result = await _pipe.ReadAtLeastAsync(RowBytes, cancellationToken).ConfigureAwait(false);
        ReadOnlySequence<byte> buffer = result.Buffer;
        long available = buffer.Length / RowBytes;
        if (available == 0)
        {
            _pipe.AdvanceTo(buffer.Start, buffer.End);
            _ended = true;
            if (buffer.Length > 0)
                throw new CorruptFileException(Name, $"truncated: the stream ends {buffer.Length} bytes into row {Position} (rows of dimension {Dimension} take {RowBytes} bytes each)");
            if (Count is long rows && Position < rows)
                throw new CorruptFileException(Name, $"truncated: the .npy header declares {rows:N0} rows but the stream ends after {Position:N0}");
            return 0;
        }
        int count = (int)Math.Min(wanted, available);
        var rowsRead = buffer.Slice(0, (long)count * RowBytes);
        CopyRows(rowsRead, destination.Span[..(count * Dimension)]);
        _pipe.AdvanceTo(rowsRead.End);
        return count;
    }

    /// <summary>Completes the pipe (and closes the stream unless it was opened with leaveOpen).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await _pipe.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>Completes the pipe (and closes the stream unless it was opened with leaveOpen).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _pipe.Complete();
    }

    private void CopyRows(ReadOnlySequence<byte> rows, Span<float> destination)
    {
        int row = 0;
        var reader = new SequenceReader<byte>(rows);
        while (!reader.End)
        {
            // A row inside one segment is converted where it lies; one split between segments is gathered first.
            ReadOnlySpan<byte> bytes = reader.UnreadSpan.Length >= RowBytes ? reader.UnreadSpan[..RowBytes] : Gather(ref reader);
            if (_prefixBytes != 0)
            {
                int rowDimension = BinaryPrimitives.ReadInt32LittleEndian(bytes);
                if (rowDimension != Dimension)
                    throw new CorruptFileException(Name, $"row {Position} has dimension {rowDimension} but row 0 has dimension {Dimension}");
            }
            var target = destination.Slice(row * Dimension, Dimension);
            if (BitConverter.IsLittleEndian) VectorFileReader.ToFloat(ElementType, bytes[_prefixBytes..], target);
            else
            {
                bytes.CopyTo(_row);
                VectorFileReader.ReverseEndianness(ElementType, _row.AsSpan(_prefixBytes));
                VectorFileReader.ToFloat(ElementType, _row.AsSpan(_prefixBytes), target);
            }
            reader.Advance(RowBytes);
            Position++;
            row++;
        }
    }

    private ReadOnlySpan<byte> Gather(ref SequenceReader<byte> reader)
    {
        reader.UnreadSequence.Slice(0, RowBytes).CopyTo(_row);
        return _row;
    }

    private static int ReadInt32(ReadOnlySequence<byte> buffer)
    {
        Span<byte> prefix = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(prefix);
        return BinaryPrimitives.ReadInt32LittleEndian(prefix);
    }

    private static async ValueTask<NpyHeader> ReadNpyHeaderAsync(PipeReader pipe, string name, CancellationToken cancellationToken)
    {
        // Magic (6), version (2), header length (2 in version 1, 4 in 2 and 3).
        ReadResult result = await pipe.ReadAtLeastAsync(12, cancellationToken).ConfigureAwait(false);
        var buffer = result.Buffer;
        if (buffer.Length == 0) throw new CorruptFileException(name, "empty stream: no .npy header");
        byte[] prelude = buffer.Slice(0, Math.Min(12, buffer.Length)).ToArray();
        ReadOnlySpan<byte> magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];
        if (prelude.Length < 8 || !prelude.AsSpan(0, 6).SequenceEqual(magic))
            throw new CorruptFileException(name, $"not a .npy stream: bad magic (expected 934E554D5059, found {Convert.ToHexString(prelude.AsSpan(0, Math.Min(6, prelude.Length)))})");
        byte major = prelude[6];
        int lengthBytes = major switch { 1 => 2, 2 or 3 => 4, _ => 0 };
        if (lengthBytes == 0 || prelude[7] != 0)
            throw new CorruptFileException(name, $"unsupported .npy version {major}.{prelude[7]} (supported: 1.0, 2.0, 3.0)");
        if (prelude.Length < 8 + lengthBytes)
            throw new CorruptFileException(name, "truncated: the stream ends inside the .npy header length field");
        long headerLength = lengthBytes == 2 ? BinaryPrimitives.ReadUInt16LittleEndian(prelude.AsSpan(8)) : BinaryPrimitives.ReadUInt32LittleEndian(prelude.AsSpan(8));
        if (headerLength > NpyMaxHeaderBytes)
            throw new CorruptFileException(name, $"malformed .npy header: it claims to be {headerLength} bytes long");
        int dataOffset = 8 + lengthBytes + (int)headerLength;
        pipe.AdvanceTo(buffer.Start, buffer.End);

        result = await pipe.ReadAtLeastAsync(dataOffset, cancellationToken).ConfigureAwait(false);
        buffer = result.Buffer;
        if (buffer.Length < dataOffset)
            throw new CorruptFileException(name, $"truncated: the .npy header needs {dataOffset} bytes but the stream ends after {buffer.Length}");
        byte[] headerBytes = buffer.Slice(8 + lengthBytes, headerLength).ToArray();
        pipe.AdvanceTo(buffer.GetPosition(dataOffset));
        // Versions 1.0 and 2.0 store the header as latin-1; 3.0 exists only to allow UTF-8 field names.
        string text = major == 3 ? Encoding.UTF8.GetString(headerBytes) : Encoding.Latin1.GetString(headerBytes);
        return NpyHeader.Interpret(name, text, dataOffset);
    }
}
