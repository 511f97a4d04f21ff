using System.Buffers.Binary;
using EmbeddedVectors.IO;

namespace EmbeddedVectors.Tests.IO;

public sealed class TexmexRoundTripTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static float[] Floats(int rows, int dimension)
    {
        var values = new float[rows * dimension];
        for (int i = 0; i < values.Length; i++) values[i] = (i * 37 % 101) / 7f - 5f;
        return values;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(17)]
    public void Fvecs_round_trips_in_batches_of_two_rows(int dimension)
    {
        const int rows = 7;
        float[] expected = Floats(rows, dimension);
        string path = _temp.File("a.fvecs");
        VectorFile.WriteFvecs(path, expected, dimension);
        Assert.Equal(rows * (4L + 4 * dimension), new FileInfo(path).Length);

        using var reader = VectorFileReader.Open(path);
        Assert.Equal(VectorFileFormat.Fvecs, reader.Format);
        Assert.Equal(VectorElementType.Float32, reader.ElementType);
        Assert.Equal(dimension, reader.Dimension);
        Assert.Equal(rows, reader.Count);

        var actual = new List<float>();
        var batch = new float[3 * dimension - 1]; // room for 2 whole rows and part of a third, which is not read
        int read;
        while ((read = reader.ReadFloats(batch)) > 0)
        {
            Assert.True(read <= 2);
            actual.AddRange(batch.AsSpan(0, read * dimension).ToArray());
            Assert.Equal(actual.Count / dimension, reader.Position);
        }
        Assert.Equal(expected, actual);
        Assert.Equal(0, reader.ReadFloats(batch));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(17)]
    public void Ivecs_round_trips_as_int32_int64_and_float(int dimension)
    {
        const int rows = 5;
        int[] expected = new int[rows * dimension];
        for (int i = 0; i < expected.Length; i++) expected[i] = (i % 2 == 0 ? 1 : -1) * i * 1000;
        string path = _temp.File("gt.ivecs");
        VectorFile.WriteIvecs(path, expected, dimension);

        Assert.Equal(expected, VectorFile.ReadAllInt32(path, out int d));
        Assert.Equal(dimension, d);
        Assert.Equal(expected.Select(v => (float)v), VectorFile.ReadAllFloats(path, out _));

        using var reader = VectorFileReader.Open(path);
        Assert.Equal(VectorElementType.Int32, reader.ElementType);
        var longs = new long[2 * dimension];
        var actual = new List<long>();
        int read;
        while ((read = reader.ReadInt64(longs)) > 0) actual.AddRange(longs.AsSpan(0, read * dimension).ToArray());
        Assert.Equal(expected.Select(v => (long)v), actual);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(17)]
    public void Bvecs_round_trips(int dimension)
    {
        const int rows = 6;
        byte[] expected = new byte[rows * dimension];
        for (int i = 0; i < expected.Length; i++) expected[i] = (byte)(i * 53);
        string path = _temp.File("b.bvecs");
        VectorFile.WriteBvecs(path, expected, dimension);
        Assert.Equal(rows * (4L + dimension), new FileInfo(path).Length);

        using var reader = VectorFileReader.Open(path);
        Assert.Equal(VectorElementType.UInt8, reader.ElementType);
        Assert.Equal(rows, reader.Count);
        var batch = new float[2 * dimension];
        var actual = new List<float>();
        int read;
        while ((read = reader.ReadFloats(batch)) > 0) actual.AddRange(batch.AsSpan(0, read * dimension).ToArray());
        Assert.Equal(expected.Select(v => (float)v), actual);
        Assert.Equal(expected.Select(v => (int)v), VectorFile.ReadAllInt32(path, out _));
    }

    [Fact]
    public void Fvecs_bytes_are_the_texmex_layout()
    {
        string path = _temp.File("layout.fvecs");
        VectorFile.WriteFvecs(path, [1.5f, -2f, 3f, 4f], 2);
        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(24, bytes.Length);
        Assert.Equal(2, BinaryPrimitives.ReadInt32LittleEndian(bytes));
        Assert.Equal(1.5f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4)));
        Assert.Equal(-2f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8)));
        Assert.Equal(2, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12)));
        Assert.Equal(4f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(20)));
    }

    [Fact]
    public void Seek_moves_the_next_read()
    {
        const int dimension = 3;
        float[] values = Floats(10, dimension);
        string path = _temp.File("seek.fvecs");
        VectorFile.WriteFvecs(path, values, dimension);

        using var reader = VectorFileReader.Open(path);
        var batch = new float[2 * dimension];
        reader.Seek(7);
        Assert.Equal(7, reader.Position);
        Assert.Equal(2, reader.ReadFloats(batch));
        Assert.Equal(values.AsSpan(7 * dimension, 2 * dimension).ToArray(), batch);
        Assert.Equal(1, reader.ReadFloats(batch));
        Assert.Equal(values.AsSpan(9 * dimension, dimension).ToArray(), batch.AsSpan(0, dimension).ToArray());

        reader.Seek(1);
        Assert.Equal(2, reader.ReadFloats(batch));
        Assert.Equal(values.AsSpan(dimension, 2 * dimension).ToArray(), batch);

        reader.Seek(10);
        Assert.Equal(0, reader.ReadFloats(batch));
        Assert.Throws<ArgumentOutOfRangeException>(() => reader.Seek(11));
        Assert.Throws<ArgumentOutOfRangeException>(() => reader.Seek(-1));
    }

    [Fact]
    public void Reads_many_rows_across_internal_chunks()
    {
        // 3000 rows of 128 floats is about 1.5 MiB, more than one internal chunk each way.
        const int rows = 3000, dimension = 128;
        float[] values = Floats(rows, dimension);
        string path = _temp.File("big.fvecs");
        using (var writer = VectorFileWriter.Create(path, dimension, VectorElementType.Float32))
        {
            writer.WriteFloats(values.AsSpan(0, 1000 * dimension));
            writer.WriteFloats(values.AsSpan(1000 * dimension));
            Assert.Equal(rows, writer.Count);
        }
        Assert.Equal(values, VectorFile.ReadAllFloats(path, out int d));
        Assert.Equal(dimension, d);
        Assert.Equal(values.AsSpan(0, 5 * dimension).ToArray(), VectorFile.ReadAllFloats(path, out _, maxRows: 5));
    }

    [Fact]
    public void Extension_is_case_insensitive()
    {
        string path = _temp.File("UPPER.FVECS");
        VectorFile.WriteFvecs(path, [1f, 2f], 2);
        using var reader = VectorFileReader.Open(path);
        Assert.Equal(VectorFileFormat.Fvecs, reader.Format);
        Assert.Equal(1, reader.Count);
    }

    [Fact]
    public void Destination_shorter_than_a_row_is_an_argument_error()
    {
        string path = _temp.File("short.fvecs");
        VectorFile.WriteFvecs(path, Floats(2, 4), 4);
        using var reader = VectorFileReader.Open(path);
        var e = Assert.Throws<ArgumentException>(() => reader.ReadFloats(new float[3]));
        Assert.Contains("one row of 4", e.Message);
    }

    [Fact]
    public void ReadInt64_of_a_float_file_is_a_clear_error()
    {
        string path = _temp.File("f.fvecs");
        VectorFile.WriteFvecs(path, Floats(2, 2), 2);
        using var reader = VectorFileReader.Open(path);
        var e = Assert.Throws<CorruptFileException>(() => reader.ReadInt64(new long[4]));
        Assert.Contains("float32", e.Message);
        Assert.Throws<CorruptFileException>(() => VectorFile.ReadAllInt32(path, out _));
    }
}
