using System.Buffers.Binary;
using System.Text;
using EmbeddedVectors.IO;

namespace EmbeddedVectors.Tests.IO;

public sealed class NpyTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>An .npy file as numpy lays it out: magic, version, header length, padded header dict, data.</summary>
    private static byte[] Npy(string dict, byte[] data, byte major = 1)
    {
        int lengthBytes = major == 1 ? 2 : 4;
        int preamble = 8 + lengthBytes;
        int total = (preamble + dict.Length + 1 + 63) / 64 * 64;
        string header = dict.PadRight(total - preamble - 1) + "\n";
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', major, 0 };
        bytes.AddRange(major == 1 ? BitConverter.GetBytes((ushort)header.Length) : BitConverter.GetBytes((uint)header.Length));
        bytes.AddRange(Encoding.UTF8.GetBytes(header));
        bytes.AddRange(data);
        return [.. bytes];
    }

    private static byte[] FloatBytes(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        return bytes;
    }

    private string Write(string name, byte[] bytes)
    {
        string path = _temp.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private CorruptFileException OpenFails(byte[] bytes)
    {
        string path = Write("bad.npy", bytes);
        var e = Assert.Throws<CorruptFileException>(() => VectorFileReader.Open(path));
        Assert.Equal(path, e.FilePath);
        return e;
    }

    [Fact]
    public void Reads_a_hand_written_version_1_file()
    {
        // Byte by byte, as numpy 1.x writes np.save('x.npy', np.array([[1, 2, 3], [4, 5, 6]], dtype='<f4')).
        string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        var bytes = new List<byte> { 0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00 };
        bytes.AddRange(Encoding.ASCII.GetBytes(dict));
        while (bytes.Count < 127) bytes.Add((byte)' ');
        bytes.Add((byte)'\n');
        Assert.Equal(128, bytes.Count);
        Assert.Equal(0x76, bytes.Count - 10);
        bytes.AddRange(FloatBytes(1, 2, 3, 4, 5, 6));
        string path = Write("hand.npy", [.. bytes]);

        using var reader = VectorFileReader.Open(path);
        Assert.Equal(VectorFileFormat.Npy, reader.Format);
        Assert.Equal(VectorElementType.Float32, reader.ElementType);
        Assert.Equal(3, reader.Dimension);
        Assert.Equal(2, reader.Count);
        var row = new float[3];
        Assert.Equal(1, reader.ReadFloats(row));
        Assert.Equal([1f, 2f, 3f], row);
        Assert.Equal(1, reader.ReadFloats(row));
        Assert.Equal([4f, 5f, 6f], row);
        Assert.Equal(0, reader.ReadFloats(row));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Reads_version_2_and_3_headers(byte major)
    {
        string path = Write("v.npy", Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", FloatBytes(7, 8), major));
        Assert.Equal([7f, 8f], VectorFile.ReadAllFloats(path, out int dimension));
        Assert.Equal(2, dimension);
    }

    [Fact]
    public void Reads_keys_in_any_order_and_python2_long_suffixes()
    {
        string path = Write("py2.npy", Npy("{\"shape\": (2L, 1L), \"fortran_order\": False, \"descr\": \"<f4\"}", FloatBytes(1, 2)));
        Assert.Equal([1f, 2f], VectorFile.ReadAllFloats(path, out int dimension));
        Assert.Equal(1, dimension);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(17)]
    public void Float_round_trip_in_batches_with_seek(int dimension)
    {
        const int rows = 9;
        var values = new float[rows * dimension];
        for (int i = 0; i < values.Length; i++) values[i] = i * 0.25f - 3f;
        string path = _temp.File("f.npy");
        VectorFile.WriteNpy(path, values, dimension);

        byte[] bytes = File.ReadAllBytes(path);
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        Assert.Equal(0, (10 + headerLength) % 64);
        string header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.Contains($"'shape': ({rows}, {dimension})", header);
        Assert.EndsWith("\n", header);

        using var reader = VectorFileReader.Open(path);
        Assert.Equal(rows, reader.Count);
        Assert.Equal(dimension, reader.Dimension);
        var batch = new float[2 * dimension];
        var actual = new List<float>();
        int read;
        while ((read = reader.ReadFloats(batch)) > 0) actual.AddRange(batch.AsSpan(0, read * dimension).ToArray());
        Assert.Equal(values, actual);

        reader.Seek(4);
        Assert.Equal(2, reader.ReadFloats(batch));
        Assert.Equal(values.AsSpan(4 * dimension, 2 * dimension).ToArray(), batch);
        Assert.Equal(6, reader.Position);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(17)]
    public void Int64_round_trip(int dimension)
    {
        const int rows = 5;
        var values = new long[rows * dimension];
        for (int i = 0; i < values.Length; i++) values[i] = (i % 3 - 1) * (1L << 40) + i;
        string path = _temp.File("ids.npy");
        VectorFile.WriteNpy(path, values, dimension);

        using var reader = VectorFileReader.Open(path);
        Assert.Equal(VectorElementType.Int64, reader.ElementType);
        var batch = new long[2 * dimension];
        var actual = new List<long>();
        int read;
        while ((read = reader.ReadInt64(batch)) > 0) actual.AddRange(batch.AsSpan(0, read * dimension).ToArray());
        Assert.Equal(values, actual);

        var e = Assert.Throws<CorruptFileException>(() => VectorFile.ReadAllInt32(path, out _));
        Assert.Contains("does not fit", e.Problem);
    }

    [Theory]
    [InlineData(VectorElementType.Int32, "'<i4'")]
    [InlineData(VectorElementType.UInt8, "'|u1'")]
    public void Writer_writes_other_integer_dtypes(VectorElementType type, string descr)
    {
        string path = _temp.File("t.npy");
        using (var writer = VectorFileWriter.Create(path, 3, type))
        {
            writer.WriteInt32([1, 2, 3]);
            writer.WriteInt64([4, 5, 6, 7, 8, 9]);
            writer.WriteFloats([10f, 11f, 12f]);
        }
        Assert.Contains(descr, Encoding.ASCII.GetString(File.ReadAllBytes(path), 10, 118));
        using var reader = VectorFileReader.Open(path);
        Assert.Equal(type, reader.ElementType);
        Assert.Equal(4, reader.Count);
        var all = new long[12];
        Assert.Equal(4, reader.ReadInt64(all));
        Assert.Equal(Enumerable.Range(1, 12).Select(v => (long)v), all);
        Assert.Equal(Enumerable.Range(1, 12).Select(v => (float)v), VectorFile.ReadAllFloats(path, out _));
    }

    [Fact]
    public void Empty_array_has_no_rows()
    {
        string path = _temp.File("none.npy");
        VectorFile.WriteNpy(path, ReadOnlySpan<float>.Empty, 4);
        using var reader = VectorFileReader.Open(path);
        Assert.Equal(0, reader.Count);
        Assert.Equal(4, reader.Dimension);
        Assert.Equal(0, reader.ReadFloats(new float[8]));
    }

    [Fact]
    public void One_dimensional_int_array_is_one_column_of_ids()
    {
        var data = new byte[24];
        for (int i = 0; i < 3; i++) BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(8 * i), 10 + i);
        string path = Write("ids.npy", Npy("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", data));

        using var reader = VectorFileReader.Open(path);
        Assert.Equal(1, reader.Dimension);
        Assert.Equal(3, reader.Count);
        var ids = new long[3];
        Assert.Equal(3, reader.ReadInt64(ids));
        Assert.Equal([10L, 11L, 12L], ids);
        reader.Seek(0);
        var e = Assert.Throws<CorruptFileException>(() => reader.ReadFloats(new float[3]));
        Assert.Contains("1-D", e.Problem);
    }

    [Fact]
    public void One_dimensional_float_array_is_rejected()
    {
        var e = OpenFails(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", FloatBytes(1, 2)));
        Assert.Contains("1-D", e.Problem);
    }

    [Fact]
    public void Fortran_order_is_named()
    {
        var e = OpenFails(Npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", FloatBytes(1, 2, 3, 4)));
        Assert.Contains("fortran_order", e.Problem);
    }

    [Theory]
    [InlineData(">f4", "big-endian")]
    [InlineData("<f8", "float64")]
    [InlineData("<f2", "float16")]
    [InlineData("|O", "object")]
    [InlineData("<u2", "not supported")]
    public void Unsupported_dtype_is_named(string descr, string why)
    {
        var e = OpenFails(Npy($"{{'descr': '{descr}', 'fortran_order': False, 'shape': (1, 2), }}", new byte[16]));
        Assert.Contains($"'{descr}'", e.Problem);
        Assert.Contains(why, e.Problem);
    }

    [Fact]
    public void Structured_dtype_is_rejected()
    {
        var e = OpenFails(Npy("{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }", new byte[8]));
        Assert.Contains("dtype", e.Problem);
    }

    [Fact]
    public void Three_dimensional_shape_is_named()
    {
        var e = OpenFails(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }", new byte[96]));
        Assert.Contains("3-D", e.Problem);
        Assert.Contains("(2, 3, 4)", e.Problem);
    }

    [Fact]
    public void Shape_not_matching_the_file_size_is_corrupt()
    {
        var shortData = OpenFails(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", FloatBytes(1, 2, 3, 4, 5)));
        Assert.Contains("truncated", shortData.Problem);
        Assert.Contains("row 2", shortData.Problem);

        var longData = OpenFails(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", FloatBytes(1, 2, 3)));
        Assert.Contains("(1, 2)", longData.Problem);
        Assert.Contains("file size", longData.Problem);
    }

    [Fact]
    public void Bad_magic_is_corrupt()
    {
        byte[] bytes = Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", FloatBytes(1));
        bytes[1] = (byte)'X';
        Assert.Contains("magic", OpenFails(bytes).Problem);
        Assert.Contains("magic", OpenFails([1, 2, 3]).Problem);
    }

    [Fact]
    public void Unsupported_version_is_corrupt()
    {
        byte[] bytes = Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", FloatBytes(1));
        bytes[6] = 4;
        Assert.Contains("version 4.0", OpenFails(bytes).Problem);
    }

    [Theory]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), ")]
    [InlineData("{'descr': '<f4', 'fortran_order': False}")]
    [InlineData("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1, 1)}")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (1, -1)}")]
    [InlineData("['descr', '<f4']")]
    public void Malformed_header_dict_is_corrupt(string dict)
    {
        var e = OpenFails(Npy(dict, FloatBytes(1)));
        Assert.Contains("malformed .npy header", e.Problem);
    }

    [Fact]
    public void Header_longer_than_the_file_is_truncated()
    {
        byte[] bytes = Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", FloatBytes(1));
        Assert.Contains("truncated", OpenFails(bytes[..40]).Problem);
    }

    [Fact]
    public void Zero_dimension_is_corrupt()
    {
        var e = OpenFails(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (5, 0), }", []));
        Assert.Contains("dimension 0", e.Problem);
    }
}
