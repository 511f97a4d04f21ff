using System.Buffers.Binary;
using EmbeddedVectors.IO;

namespace EmbeddedVectors.Tests.IO;

public sealed class TexmexCorruptFileTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>Texmex rows written by hand, each with its own dimension prefix.</summary>
    private static byte[] Rows(params float[][] rows)
    {
        var bytes = new List<byte>();
        foreach (float[] row in rows)
        {
            bytes.AddRange(BitConverter.GetBytes(row.Length));
            foreach (float v in row) bytes.AddRange(BitConverter.GetBytes(v));
        }
        return [.. bytes];
    }

    private string Write(string name, byte[] bytes)
    {
        string path = _temp.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Truncated_fvecs_names_the_cut_row_and_offset()
    {
        byte[] whole = Rows([1, 2, 3], [4, 5, 6], [7, 8, 9]);
        string path = Write("cut.fvecs", whole[..^5]); // 16-byte rows; cut 11 bytes into row 2

        var e = Assert.Throws<CorruptFileException>(() => VectorFileReader.Open(path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains("truncated", e.Problem);
        Assert.Contains("byte offset 43", e.Problem);
        Assert.Contains("row 2", e.Problem);
    }

    [Fact]
    public void File_shorter_than_a_prefix_is_truncated()
    {
        string path = Write("tiny.ivecs", [3, 0]);
        var e = Assert.Throws<CorruptFileException>(() => VectorFileReader.Open(path));
        Assert.Contains("truncated", e.Problem);
    }

    [Fact]
    public void Second_row_of_another_dimension_is_reported_while_reading()
    {
        // Row 0 is 12 bytes (d = 2); row 1 (d = 5) is 24, so the size still divides into 12-byte rows.
        string path = Write("mixed.fvecs", Rows([1, 2], [1, 2, 3, 4, 5]));
        using var reader = VectorFileReader.Open(path);
        Assert.Equal(2, reader.Dimension);
        Assert.Equal(3, reader.Count);

        var batch = new float[2];
        Assert.Equal(1, reader.ReadFloats(batch));
        var e = Assert.Throws<CorruptFileException>(() => reader.ReadFloats(batch));
        Assert.Contains("row 1", e.Problem);
        Assert.Contains("dimension 5", e.Problem);
        Assert.Contains("dimension 2", e.Problem);
        Assert.Equal(1, reader.Position);

        // The failure repeats rather than skipping the bad row.
        Assert.Throws<CorruptFileException>(() => reader.ReadFloats(batch));
    }

    [Fact]
    public void Mixed_dimensions_inside_one_large_read_are_reported()
    {
        string path = Write("mixed-batch.fvecs", Rows([1, 2], [3, 4], [5, 6], [1, 2, 3, 4, 5]));
        using var reader = VectorFileReader.Open(path);
        var e = Assert.Throws<CorruptFileException>(() => reader.ReadFloats(new float[100]));
        Assert.Contains("row 3", e.Problem);
    }

    [Fact]
    public void Second_row_of_another_dimension_that_breaks_the_size_is_named_at_open()
    {
        string path = Write("mixed-size.fvecs", Rows([1, 2, 3], [1, 2, 3, 4]));
        var e = Assert.Throws<CorruptFileException>(() => VectorFileReader.Open(path));
        Assert.Contains("row 1 has dimension 4", e.Problem);
        Assert.Contains("row 0 has dimension 3", e.Problem);
    }

    [Theory]
    [InlineData("empty.fvecs")]
    [InlineData("empty.ivecs")]
    [InlineData("empty.bvecs")]
    [InlineData("empty.npy")]
    public void Empty_file_is_corrupt(string name)
    {
        string path = Write(name, []);
        var e = Assert.Throws<CorruptFileException>(() => VectorFileReader.Open(path));
        Assert.Contains("empty file", e.Problem);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    [InlineData((1 << 20) + 1)]
    public void Absurd_dimension_is_corrupt(int dimension)
    {
        byte[] bytes = new byte[64];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, dimension);
        string path = Write("absurd.fvecs", bytes);
        var e = Assert.Throws<CorruptFileException>(() => VectorFileReader.Open(path));
        Assert.Contains($"dimension {dimension}", e.Problem);
    }

    [Theory]
    [InlineData("vectors.txt")]
    [InlineData("vectors.fvec")]
    [InlineData("vectors")]
    public void Unknown_extension_is_an_argument_error(string name)
    {
        string path = Write(name, Rows([1, 2]));
        var e = Assert.Throws<ArgumentException>(() => VectorFileReader.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Throws<ArgumentException>(() => VectorFileWriter.Create(_temp.File(name), 2, VectorElementType.Float32));
    }
}
