using EmbeddedVectors.IO;

namespace EmbeddedVectors.Tests.IO;

/// <summary>
/// <see cref="VectorStreamReader"/> against <see cref="VectorFileReader"/> on the same bytes, through a stream that hands
/// them over a few at a time (so rows are split between the pipe's buffers), and its errors on damaged streams.
/// </summary>
public sealed class VectorStreamReaderTests
{
    private const int Rows = 300;
    private const int Dimension = 24;

    [Theory]
    [InlineData(".fvecs", VectorFileFormat.Fvecs, 7)]
    [InlineData(".fvecs", VectorFileFormat.Fvecs, 100_000)]
    [InlineData(".bvecs", VectorFileFormat.Bvecs, 13)]
    [InlineData(".npy", VectorFileFormat.Npy, 5)]
    [InlineData(".npy", VectorFileFormat.Npy, 100_000)]
    public async Task Reads_what_the_file_reader_reads_whatever_the_pieces_the_stream_gives(string extension, VectorFileFormat format, int piece)
    {
        using var temp = new TempDirectory();
        string path = temp.File("v" + extension);
        var random = new Random(5);
        var values = new float[Rows * Dimension];
        for (int i = 0; i < values.Length; i++) values[i] = format == VectorFileFormat.Bvecs ? random.Next(256) : (float)random.NextDouble() - 0.5f;
        if (format == VectorFileFormat.Bvecs) VectorFile.WriteBvecs(path, values.Select(v => (byte)v).ToArray(), Dimension);
        else if (format == VectorFileFormat.Npy) VectorFile.WriteNpy(path, values, Dimension);
        else VectorFile.WriteFvecs(path, values, Dimension);

        var expected = VectorFile.ReadAllFloats(path, out _);
        await using var reader = await VectorStreamReader.OpenAsync(new TrickleStream(File.ReadAllBytes(path), piece), format, "test stream");
        Assert.Equal(Dimension, reader.Dimension);
        Assert.Equal(format == VectorFileFormat.Npy ? Rows : null, reader.Count);
        var actual = new float[expected.Length];
        int got = 0;
        // An odd batch size, so batches end mid-buffer as well.
        while (got < Rows)
        {
            int read = await reader.ReadFloatsAsync(actual.AsMemory(got * Dimension, Math.Min(37, Rows - got) * Dimension));
            Assert.True(read > 0, $"the stream ended after {got} rows");
            got += read;
        }
        Assert.Equal(Rows, got);
        Assert.Equal(Rows, reader.Position);
        Assert.Equal(expected, actual);
        Assert.Equal(0, await reader.ReadFloatsAsync(new float[Dimension]));
    }

    [Fact]
    public async Task A_stream_ending_inside_a_row_or_before_its_declared_rows_is_reported()
    {
        using var temp = new TempDirectory();
        var values = new float[10 * Dimension];
        string fvecs = temp.File("v.fvecs"), npy = temp.File("v.npy");
        VectorFile.WriteFvecs(fvecs, values, Dimension);
        VectorFile.WriteNpy(npy, values, Dimension);

        var cut = File.ReadAllBytes(fvecs)[..^10];
        await using (var reader = await VectorStreamReader.OpenAsync(new MemoryStream(cut), VectorFileFormat.Fvecs, "cut"))
        {
            var buffer = new float[100 * Dimension];
            Assert.Equal(9, await reader.ReadFloatsAsync(buffer));
            var error = await Assert.ThrowsAsync<CorruptFileException>(async () => await reader.ReadFloatsAsync(buffer));
            Assert.Contains("into row 9", error.Message);
        }

        var shortNpy = File.ReadAllBytes(npy)[..^(4 * Dimension)];
        await using (var reader = await VectorStreamReader.OpenAsync(new MemoryStream(shortNpy), VectorFileFormat.Npy, "short"))
        {
            var buffer = new float[100 * Dimension];
            Assert.Equal(9, await reader.ReadFloatsAsync(buffer));
            var error = await Assert.ThrowsAsync<CorruptFileException>(async () => await reader.ReadFloatsAsync(buffer));
            Assert.Contains("declares 10 rows", error.Message);
        }
    }

    [Fact]
    public async Task Bad_headers_and_mixed_dimensions_are_reported()
    {
        var empty = await Assert.ThrowsAsync<CorruptFileException>(async () => await VectorStreamReader.OpenAsync(new MemoryStream(), VectorFileFormat.Fvecs, "empty"));
        Assert.Contains("empty stream", empty.Message);
        var notNpy = await Assert.ThrowsAsync<CorruptFileException>(async () => await VectorStreamReader.OpenAsync(new MemoryStream(new byte[64]), VectorFileFormat.Npy, "zeros"));
        Assert.Contains("bad magic", notNpy.Message);
        await Assert.ThrowsAsync<ArgumentException>(async () => await VectorStreamReader.OpenAsync(new MemoryStream(new byte[64]), VectorFileFormat.Ivecs, "ids"));

        var mixed = new MemoryStream();
        var writer = new BinaryWriter(mixed);
        writer.Write(2); writer.Write(1f); writer.Write(2f);
        writer.Write(3); writer.Write(1f); writer.Write(2f); writer.Write(3f);
        mixed.Position = 0;
        await using var reader = await VectorStreamReader.OpenAsync(mixed, VectorFileFormat.Fvecs, "mixed");
        var error = await Assert.ThrowsAsync<CorruptFileException>(async () => await reader.ReadFloatsAsync(new float[20]));
        Assert.Contains("row 1 has dimension 3", error.Message);
    }

    /// <summary>A read-only stream that returns at most <c>piece</c> bytes a read, as a pipe or a socket may.</summary>
    private sealed class TrickleStream(byte[] data, int piece) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = Math.Min(Math.Min(piece, buffer.Length), data.Length - _position);
            data.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
