using System.Runtime.InteropServices;
using EmbeddedVectors.Kernels;

namespace EmbeddedVectors.Storage;

/// <summary>
/// How re-rank rows are encoded (<see cref="RowEncoding"/>) together with what decoding needs (for
/// <see cref="RowEncoding.Int8"/>, a per-dimension offset and scale): encodes rows when a segment is written,
/// decodes them, and computes the exact distance from a float32 query to an encoded row without decoding it into
/// memory. Immutable.
/// </summary>
internal sealed class RowCodec
{
    /// <summary>The largest finite half; float16 rows clamp to ±this.</summary>
    public const float MaxHalf = 65504f;

    private const int ByteLevels = 255;
    private readonly float[] _offsets;
    private readonly float[] _scales;

    private RowCodec(RowEncoding encoding, int dimension, float[] offsets, float[] scales)
    {
        Encoding = encoding;
        Dimension = dimension;
        RowBytes = checked(dimension * encoding.BytesPerValue());
        _offsets = offsets;
        _scales = scales;
    }

    public RowEncoding Encoding { get; }
    public int Dimension { get; }

    /// <summary>Bytes an encoded row takes.</summary>
    public int RowBytes { get; }

    /// <summary>int8: value j is <c>Offsets[j] + Scales[j] × code</c>; empty for the other encodings.</summary>
    public ReadOnlySpan<float> Offsets => _offsets;

    /// <inheritdoc cref="Offsets"/>
    public ReadOnlySpan<float> Scales => _scales;

    /// <summary>Bytes of the int8 parameters (dimension offsets, then dimension scales, float32); 0 for the other encodings.</summary>
    public int ParameterBytes => (_offsets.Length + _scales.Length) * sizeof(float);

    /// <summary>A codec of an encoding that needs no parameters (float32, float16).</summary>
    public static RowCodec Plain(RowEncoding encoding, int dimension)
    {
        if (encoding is not (RowEncoding.Float32 or RowEncoding.Float16))
            throw new ArgumentOutOfRangeException(nameof(encoding), encoding, "Only float32 and float16 rows need no parameters.");
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        return new RowCodec(encoding, dimension, [], []);
    }

    /// <summary>
    /// Learns int8 parameters from <paramref name="n"/> rows of <paramref name="sample"/>: per dimension the
    /// minimum is the offset and the range / 255 the scale (0 when every value is equal).
    /// </summary>
    public static RowCodec TrainInt8(ReadOnlySpan<float> sample, int n, int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        if (sample.Length < (long)n * dimension) throw new ArgumentException("Fewer sample values than n × dimension.", nameof(sample));
        var min = sample[..dimension].ToArray();
        var max = sample[..dimension].ToArray();
        for (int i = 1; i < n; i++)
        {
            var row = sample.Slice(i * dimension, dimension);
            for (int j = 0; j < dimension; j++)
            {
                min[j] = MathF.Min(min[j], row[j]);
                max[j] = MathF.Max(max[j], row[j]);
            }
        }
        var scales = new float[dimension];
        for (int j = 0; j < dimension; j++) scales[j] = (float)(((double)max[j] - min[j]) / ByteLevels);
        return new RowCodec(RowEncoding.Int8, dimension, min, scales);
    }

    /// <summary>An int8 codec from its stored parameters (what <see cref="WriteParameters"/> wrote).</summary>
    /// <exception cref="CorruptFileException">An offset is not finite or a scale is negative or not finite.</exception>
    public static RowCodec Int8FromParameters(ReadOnlySpan<byte> parameters, int dimension, string path)
    {
        if (parameters.Length != 2L * dimension * sizeof(float))
            throw new CorruptFileException(path, $"the int8 row parameters are {parameters.Length} bytes, expected {2L * dimension * sizeof(float)}");
        var values = MemoryMarshal.Cast<byte, float>(parameters);
        var offsets = values[..dimension].ToArray();
        var scales = values[dimension..].ToArray();
        for (int j = 0; j < dimension; j++)
        {
            if (!float.IsFinite(offsets[j]) || !float.IsFinite(scales[j]) || scales[j] < 0)
                throw new CorruptFileException(path, $"invalid int8 row parameters for dimension {j}: offset {offsets[j]}, scale {scales[j]}");
        }
        return new RowCodec(RowEncoding.Int8, dimension, offsets, scales);
    }

    /// <summary>Writes the int8 parameters (<see cref="ParameterBytes"/> bytes: offsets, then scales).</summary>
    public void WriteParameters(Span<byte> destination)
    {
        MemoryMarshal.AsBytes(_offsets.AsSpan()).CopyTo(destination);
        MemoryMarshal.AsBytes(_scales.AsSpan()).CopyTo(destination[(_offsets.Length * sizeof(float))..]);
    }

    /// <summary>True when both encode the same way (same encoding, dimension and parameters).</summary>
    public bool SameAs(RowCodec other) =>
        Encoding == other.Encoding && Dimension == other.Dimension
        && _offsets.AsSpan().SequenceEqual(other._offsets) && _scales.AsSpan().SequenceEqual(other._scales);

    /// <summary>Encodes <paramref name="vector"/> into <paramref name="row"/> (<see cref="RowBytes"/>), clamping what the encoding cannot hold.</summary>
    public void Encode(ReadOnlySpan<float> vector, Span<byte> row)
    {
        CheckLengths(vector.Length, row.Length);
        switch (Encoding)
        {
            case RowEncoding.Float32:
                MemoryMarshal.AsBytes(vector).CopyTo(row);
                break;
            case RowEncoding.Float16:
                var halves = MemoryMarshal.Cast<byte, ushort>(row);
                for (int j = 0; j < vector.Length; j++)
                    halves[j] = BitConverter.HalfToUInt16Bits((Half)Math.Clamp(vector[j], -MaxHalf, MaxHalf));
                break;
            default:
                for (int j = 0; j < vector.Length; j++)
                {
                    float scale = _scales[j];
                    double level = scale > 0 ? Math.Round(((double)vector[j] - _offsets[j]) / scale) : 0;
                    row[j] = (byte)Math.Clamp(level, 0, ByteLevels);
                }
                break;
        }
    }

    /// <summary>Decodes <paramref name="row"/> into <paramref name="vector"/> (<see cref="Dimension"/> floats), as the distance kernels read it.</summary>
    public void Decode(ReadOnlySpan<byte> row, Span<float> vector)
    {
        CheckLengths(vector.Length, row.Length);
        switch (Encoding)
        {
            case RowEncoding.Float32:
                row.CopyTo(MemoryMarshal.AsBytes(vector));
                break;
            case RowEncoding.Float16:
                var halves = MemoryMarshal.Cast<byte, ushort>(row);
                for (int j = 0; j < vector.Length; j++) vector[j] = RowKernels.HalfToSingle(halves[j]);
                break;
            default:
                for (int j = 0; j < vector.Length; j++) vector[j] = RowKernels.ByteToSingle(row[j], _scales[j], _offsets[j]);
                break;
        }
    }

    /// <summary>The ranking distance (smaller is nearer) between the float32 <paramref name="query"/> and an encoded <paramref name="row"/>.</summary>
    public float RankingDistance(Metric rankingMetric, ReadOnlySpan<float> query, ReadOnlySpan<byte> row) => Encoding switch
    {
        RowEncoding.Float32 => VectorKernels.RankingDistance(rankingMetric, query, MemoryMarshal.Cast<byte, float>(row)),
        RowEncoding.Float16 => RowKernels.HalfRankingDistance(rankingMetric, query, row),
        _ => RowKernels.ByteRankingDistance(rankingMetric, query, row, _scales, _offsets),
    };

    private void CheckLengths(int values, int bytes)
    {
        if (values != Dimension || bytes != RowBytes)
            throw new ArgumentException($"A row of {Dimension} values takes {RowBytes} bytes; got {values} values and {bytes} bytes.");
    }
}

/// <summary>
/// The int8 row parameters of a store whose rows are <see cref="RowEncoding.Int8"/>, learned at training and
/// written once then (<c>rows.evq</c>), so every segment sealed later encodes with them. Each int8 segment also
/// keeps a copy in its <c>.evv</c> file, so a segment decodes on its own.
/// </summary>
/// <remarks>
/// Layout, little-endian, a <see cref="ChecksummedFile"/> with two fields and a header checksum: magic "EVROWPAR"
/// (0–7) · format version int32 (8–11) · dimension int32 (12–15) · row encoding int32 (16–19, 2 = i8) · body
/// checksum XxHash3-64 over bytes 36..end (20–27) · header checksum XxHash3-64 over bytes 0–27 (28–35) · offsets
/// dimension × f32 · scales dimension × f32.
/// </remarks>
internal static class RowParametersFile
{
    public const string FileName = "rows.evq";
    public const int FormatVersion = 1;

    internal static readonly ChecksummedFile Layout = new("row parameters file", "EVROWPAR"u8, FormatVersion, fieldCount: 2, hasHeaderChecksum: true, bodyName: "int8 offsets and scales");
    private const int DimensionField = 0, EncodingField = 1;

    public static void Write(string directory, RowCodec codec)
    {
        var body = new byte[codec.ParameterBytes];
        codec.WriteParameters(body);
        Layout.Write(Path.Combine(directory, FileName), [codec.Dimension, (int)codec.Encoding], body);
    }

    public static RowCodec Read(string directory, int dimension)
    {
        string path = Path.Combine(directory, FileName);
        var file = Layout.Read(path, "missing, although the manifest says the store keeps int8 rows and is trained.");
        int stored = file.Field(DimensionField);
        int encoding = file.Field(EncodingField);
        if (stored != dimension || encoding != (int)RowEncoding.Int8)
            throw new CorruptFileException(path, $"holds row encoding {encoding} for dimension {stored}; the store keeps i8 rows of dimension {dimension}.");
        return RowCodec.Int8FromParameters(file.Body(2L * dimension * sizeof(float)), dimension, path);
    }
}
