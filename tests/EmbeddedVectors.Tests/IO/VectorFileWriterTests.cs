using EmbeddedVectors.IO;

namespace EmbeddedVectors.Tests.IO;

public sealed class VectorFileWriterTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Streams_batches_and_counts_rows()
    {
        string path = _temp.File("stream.npy");
        using (var writer = VectorFileWriter.Create(path, 2, VectorElementType.Float32))
        {
            Assert.Equal(0, writer.Count);
            writer.WriteFloats([1f, 2f]);
            writer.WriteFloats([3f, 4f, 5f, 6f]);
            writer.WriteFloats([]);
            Assert.Equal(3, writer.Count);
        }
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], VectorFile.ReadAllFloats(path, out int dimension));
        Assert.Equal(2, dimension);
    }

    [Fact]
    public void Dispose_twice_is_harmless_and_writing_after_it_fails()
    {
        string path = _temp.File("twice.fvecs");
        var writer = VectorFileWriter.Create(path, 1, VectorElementType.Float32);
        writer.WriteFloats([1f]);
        writer.Dispose();
        writer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => writer.WriteFloats([2f]));
        Assert.Equal([1f], VectorFile.ReadAllFloats(path, out _));
    }

    [Theory]
    [InlineData("a.fvecs", VectorElementType.Int32)]
    [InlineData("a.ivecs", VectorElementType.Float32)]
    [InlineData("a.bvecs", VectorElementType.Int64)]
    public void Element_type_must_fit_the_format(string name, VectorElementType type)
    {
        var e = Assert.Throws<ArgumentException>(() => VectorFileWriter.Create(_temp.File(name), 4, type));
        Assert.Contains(type.ToString(), e.Message);
        Assert.False(File.Exists(_temp.File(name)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData((1 << 20) + 1)]
    public void Dimension_must_be_sensible(int dimension) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => VectorFileWriter.Create(_temp.File("d.fvecs"), dimension, VectorElementType.Float32));

    [Fact]
    public void Partial_rows_are_rejected()
    {
        using var writer = VectorFileWriter.Create(_temp.File("p.fvecs"), 3, VectorElementType.Float32);
        var e = Assert.Throws<ArgumentException>(() => writer.WriteFloats([1f, 2f, 3f, 4f]));
        Assert.Contains("dimension 3", e.Message);
        Assert.Equal(0, writer.Count);
    }

    [Theory]
    [InlineData(1.5f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(2147483648f)]
    public void Floats_into_int32_must_be_whole_and_in_range(float bad)
    {
        string path = _temp.File("i.ivecs");
        using (var writer = VectorFileWriter.Create(path, 2, VectorElementType.Int32))
        {
            writer.WriteFloats([-2147483648f, 7f]);
            var e = Assert.Throws<ArgumentException>(() => writer.WriteFloats([3f, bad]));
            Assert.Contains("Row 1, column 1", e.Message);
            Assert.Equal(1, writer.Count);
        }
        // The rejected row was left out whole.
        Assert.Equal([int.MinValue, 7], VectorFile.ReadAllInt32(path, out _));
    }

    [Theory]
    [InlineData(256L)]
    [InlineData(-1L)]
    public void Values_into_uint8_must_be_in_range(long bad)
    {
        using var writer = VectorFileWriter.Create(_temp.File("b.bvecs"), 1, VectorElementType.UInt8);
        Assert.Throws<ArgumentException>(() => writer.WriteInt64([bad]));
        Assert.Throws<ArgumentException>(() => writer.WriteInt32([(int)bad]));
        Assert.Throws<ArgumentException>(() => writer.WriteFloats([bad]));
        writer.WriteInt64([255]);
        Assert.Equal(1, writer.Count);
    }

    [Fact]
    public void Int64_beyond_int32_is_rejected_for_ivecs()
    {
        using var writer = VectorFileWriter.Create(_temp.File("big.ivecs"), 1, VectorElementType.Int32);
        Assert.Throws<ArgumentException>(() => writer.WriteInt64([1L << 31]));
    }

    [Fact]
    public void Integers_into_a_float_file_are_converted()
    {
        string path = _temp.File("conv.fvecs");
        using (var writer = VectorFileWriter.Create(path, 2, VectorElementType.Float32))
        {
            writer.WriteInt32([1, -2]);
            writer.WriteInt64([3, 1L << 40]);
        }
        Assert.Equal([1f, -2f, 3f, 1099511627776f], VectorFile.ReadAllFloats(path, out _));
    }

    [Fact]
    public void Whole_file_writers_check_the_extension()
    {
        Assert.Throws<ArgumentException>(() => VectorFile.WriteFvecs(_temp.File("x.npy"), [1f], 1));
        Assert.Throws<ArgumentException>(() => VectorFile.WriteNpy(_temp.File("x.fvecs"), [1f], 1));
        Assert.Throws<ArgumentException>(() => VectorFile.WriteIvecs(_temp.File("x.bvecs"), [1], 1));
    }

    [Fact]
    public void Overwrites_an_existing_file()
    {
        string path = _temp.File("again.npy");
        VectorFile.WriteNpy(path, [1f, 2f, 3f, 4f], 2);
        VectorFile.WriteNpy(path, [9L], 1);
        using var reader = VectorFileReader.Open(path);
        Assert.Equal(1, reader.Count);
        Assert.Equal(VectorElementType.Int64, reader.ElementType);
    }
}
