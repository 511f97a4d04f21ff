using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Storage;
using EmbeddedVectors.Tests.IO;

namespace EmbeddedVectors.Tests.Storage;

/// <summary>Segments of the pq4fs layout: unpacked 4-bit codes in, packed fast-scan blocks per list on disk.</summary>
public sealed class FastScanSegmentTests : IDisposable
{
    private static readonly int[] ListSizes = [0, 1, 31, 32, 33, 100];

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>Entries grouped by list; codes unpacked, m bytes an entry, each below 16.</summary>
    private sealed record Entries(SegmentShape Shape, int[] ListCounts, int[] Lists, byte[] Codes, long[] Ids, long[] Payloads, float[] Vectors)
    {
        public int Count => Ids.Length;
    }

    private static Entries MakeEntries(SegmentShape shape, int[] listCounts, int seed)
    {
        var rng = new Random(seed);
        int[] lists = listCounts.SelectMany((n, l) => Enumerable.Repeat(l, n)).ToArray();
        int count = lists.Length;
        var ids = new HashSet<long>();
        while (ids.Count < count) ids.Add(rng.NextInt64(long.MinValue, long.MaxValue));
        var codes = new byte[count * shape.CodeSize];
        for (int i = 0; i < codes.Length; i++) codes[i] = (byte)rng.Next(FastScan.Centroids);
        long[] payloads = Enumerable.Range(0, count).Select(_ => rng.NextInt64()).ToArray();
        float[] vectors = Enumerable.Range(0, count * shape.Dimension).Select(_ => rng.NextSingle()).ToArray();
        return new Entries(shape, listCounts, lists, codes, [.. ids.OrderBy(_ => rng.Next())], payloads, vectors);
    }

    private static SegmentShape Shape(int nlist, int m, bool vectors) => new(nlist, m, 4, CodeLayout.Pq4FastScan, vectors);

    private long Write(Entries e, long number = 1, bool appendList = false)
    {
        var s = e.Shape;
        using var writer = SegmentWriter.Create(_temp.Path, number, s, e.Count);
        if (!appendList)
        {
            for (int i = 0; i < e.Count; i++)
            {
                var vector = s.HasVectors ? e.Vectors.AsSpan(i * s.Dimension, s.Dimension) : default;
                writer.Append(e.Lists[i], e.Codes.AsSpan(i * s.CodeSize, s.CodeSize), e.Ids[i], e.Payloads[i], vector);
            }
        }
        else
        {
            // Every list once, empty ones included.
            for (int l = 0, start = 0; l < s.NList; l++)
            {
                int n = e.ListCounts[l];
                writer.AppendList(l, e.Codes.AsSpan(start * s.CodeSize, n * s.CodeSize), e.Ids.AsSpan(start, n),
                    e.Payloads.AsSpan(start, n), s.HasVectors ? e.Vectors.AsSpan(start * s.Dimension, n * s.Dimension) : default);
                start += n;
            }
        }
        return writer.Complete();
    }

    private string CodesPath(long number = 1) => _temp.File(SegmentWriter.CodesFileName(number));

    private static Region ReadRegion(string path, int region)
    {
        var header = File.ReadAllBytes(path).AsSpan(SegmentHeader.RegionsOffset + region * SegmentHeader.RegionEntrySize);
        return new Region(BinaryPrimitives.ReadInt64LittleEndian(header), BinaryPrimitives.ReadInt64LittleEndian(header[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(header[16..]));
    }

    /// <summary>Edits a header and gives it a valid checksum again, so only the edited field is wrong.</summary>
    private static void RewriteHeader(string path, Action<byte[]> edit)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        var header = new byte[SegmentHeader.Size];
        file.ReadExactly(header);
        edit(header);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(SegmentHeader.ChecksumOffset),
            FileHeaders.Checksum(header.AsSpan(0, SegmentHeader.ChecksumOffset)));
        file.Position = 0;
        file.Write(header);
    }

    private static Span<byte> RegionEntry(byte[] header, int region) =>
        header.AsSpan(SegmentHeader.RegionsOffset + region * SegmentHeader.RegionEntrySize, SegmentHeader.RegionEntrySize);

    private CorruptFileException OpenFails(SegmentShape shape) =>
        Assert.Throws<CorruptFileException>(() => Segment.Open(_temp.Path, 1, shape).Dispose());

    public static TheoryData<int, int, bool, bool, int> RoundTripCases()
    {
        var data = new TheoryData<int, int, bool, bool, int>();
        int seed = 0;
        foreach (int nlist in new[] { 1, 5, 64 })
            foreach (int m in new[] { 2, 8, 96 })
                foreach (bool vectors in new[] { false, true })
                    foreach (bool appendList in new[] { false, true })
                        data.Add(nlist, m, vectors, appendList, seed++);
        return data;
    }

    [Theory]
    [MemberData(nameof(RoundTripCases))]
    public unsafe void Round_trip_reads_back_every_entry(int nlist, int m, bool vectors, bool appendList, int seed)
    {
        var shape = Shape(nlist, m, vectors);
        // List sizes cycle through 0, 1, 31, 32, 33 and 100, shifted per case so that one-list segments see each.
        int[] listCounts = Enumerable.Range(0, nlist).Select(l => ListSizes[(l + seed) % ListSizes.Length]).ToArray();
        var e = MakeEntries(shape, listCounts, seed);
        long bytes = Write(e, number: 2, appendList);

        using var segment = Segment.Open(_temp.Path, 2, shape);
        Assert.Equal(shape, segment.Shape);
        Assert.Equal(e.Count, segment.Count);
        Assert.Equal(bytes, segment.BytesOnDisk);

        // The codes region holds every list's whole blocks, back to back; the other regions stay where they were planned.
        var codesRegion = ReadRegion(CodesPath(2), SegmentHeader.CodesRegion);
        Assert.Equal(listCounts.Sum(n => FastScan.BytesFor(n, m)), codesRegion.Length);
        var plan = SegmentHeader.Plan(SegmentHeader.CodesFileRegionLengths(shape, e.Count));
        for (int r = 0; r < SegmentHeader.CodesFileRegionCount; r++)
            Assert.Equal(plan[r].Offset, ReadRegion(CodesPath(2), r).Offset);
        Assert.Equal(plan[^1].End, new FileInfo(CodesPath(2)).Length);

        var code = new byte[m];
        int position = 0;
        long codeOffset = 0;
        for (int l = 0; l < nlist; l++)
        {
            int n = listCounts[l];
            Assert.Equal(position, segment.ListStart(l));
            Assert.Equal(n, segment.ListCount(l));
            var blocks = segment.Codes(l);
            Assert.Equal(FastScan.BytesFor(n, m), blocks.Length);
            Assert.Equal(blocks.Length, segment.CodeBytes(l));
            if (!blocks.IsEmpty)
            {
                // The region starts 64-byte aligned and blocks are 16·m bytes with m even, so every list is 32-byte aligned.
                nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(blocks));
                Assert.Equal(0, address % 32);
                if (codeOffset % 64 == 0) Assert.Equal(0, address % 64);
            }
            codeOffset += blocks.Length;
            for (int i = 0; i < n; i++)
            {
                var expected = e.Codes.AsSpan((position + i) * m, m);
                FastScan.Unpack(blocks, i, m, code);
                Assert.True(code.AsSpan().SequenceEqual(expected), $"list {l} entry {i}: unpacked block code");
                Array.Clear(code);
                segment.CodeAt(l, i, code);
                Assert.True(code.AsSpan().SequenceEqual(expected), $"list {l} entry {i}: CodeAt");
            }
            // The last block is padded with zero codes.
            for (int i = n; i < blocks.Length / FastScan.BlockBytes(m) * FastScan.BlockSize; i++)
            {
                FastScan.Unpack(blocks, i, m, code);
                Assert.All(code, b => Assert.Equal(0, b));
            }
            Assert.True(segment.Ids(l).SequenceEqual(e.Ids.AsSpan(position, n)));
            Assert.True(segment.PayloadAddresses(l).SequenceEqual(e.Payloads.AsSpan(position, n)));
            position += n;
        }
        for (int p = 0; p < e.Count; p++)
        {
            Assert.Equal(e.Ids[p], segment.IdAt(p));
            Assert.Equal(e.Payloads[p], segment.PayloadAddressAt(p));
            if (vectors) Assert.True(segment.VectorAt(p).SequenceEqual(e.Vectors.AsSpan(p * shape.Dimension, shape.Dimension)));
            Assert.Equal(p, segment.Find(e.Ids[p]));
        }
        var present = e.Ids.ToHashSet();
        var rng = new Random(seed);
        foreach (long absent in Enumerable.Range(0, 50).Select(_ => rng.NextInt64(long.MinValue, long.MaxValue)))
            if (!present.Contains(absent)) Assert.Equal(-1, segment.Find(absent));
        segment.Verify();
    }

    [Theory]
    [InlineData(5, 33)]   // every list one entry into its last block: the most padding per list
    [InlineData(64, 1)]   // fewer entries than lists, each alone in a block
    [InlineData(3, 32)]   // no padding at all
    public void Worst_case_padding_fits_the_planned_codes_region(int nlist, int perList)
    {
        var shape = Shape(nlist, 8, vectors: false);
        int[] listCounts = Enumerable.Range(0, nlist).Select(l => nlist > 10 && l % 7 != 0 ? 0 : perList).ToArray();
        var e = MakeEntries(shape, listCounts, seed: nlist);
        Write(e);
        var planned = SegmentHeader.Plan(SegmentHeader.CodesFileRegionLengths(shape, e.Count))[SegmentHeader.CodesRegion];
        var written = ReadRegion(CodesPath(), SegmentHeader.CodesRegion);
        Assert.Equal(listCounts.Sum(n => FastScan.BytesFor(n, 8)), written.Length);
        Assert.True(written.Length <= planned.Length);
        using var segment = Segment.Open(_temp.Path, 1, shape);
        segment.Verify();
        var code = new byte[8];
        for (int l = 0, p = 0; l < nlist; p += listCounts[l++])
            for (int i = 0; i < listCounts[l]; i++)
            {
                segment.CodeAt(l, i, code);
                Assert.True(code.AsSpan().SequenceEqual(e.Codes.AsSpan((p + i) * 8, 8)));
            }
    }

    [Fact]
    public void Code_byte_of_16_or_more_is_rejected_before_anything_is_written()
    {
        var shape = Shape(3, 8, vectors: false);
        using (var writer = SegmentWriter.Create(_temp.Path, 1, shape, 3))
        {
            var bad = new byte[8];
            bad[5] = 16;
            Assert.Throws<ArgumentException>(() => writer.Append(0, bad, 1, 0, default));
            var badList = new byte[16];
            badList[11] = 255;
            Assert.Throws<ArgumentException>(() => writer.AppendList(1, badList, [2, 3], [0, 0], default));
            Assert.Throws<ArgumentException>(() => writer.Append(0, new byte[7], 1, 0, default)); // m bytes, unpacked

            // The rejected calls changed nothing: the segment still takes its three entries.
            byte[] codes = [.. Enumerable.Range(0, 24).Select(i => (byte)(i % 16))];
            writer.Append(0, codes.AsSpan(0, 8), 1, 10, default);
            writer.AppendList(2, codes.AsSpan(8), [2, 3], [20, 30], default);
            writer.Complete();
        }
        using var segment = Segment.Open(_temp.Path, 1, shape);
        segment.Verify();
        var code = new byte[8];
        segment.CodeAt(2, 1, code);
        Assert.Equal(Enumerable.Range(16, 8).Select(i => (byte)(i % 16)), code);
        Assert.Equal(0, segment.ListCount(1));
        Assert.Equal(FastScan.BlockBytes(8), segment.CodeBytes(2));
    }

    [Fact]
    public void CodeAt_rejects_out_of_range_arguments()
    {
        var shape = Shape(2, 8, vectors: false);
        Write(MakeEntries(shape, [3, 0], seed: 1));
        using var segment = Segment.Open(_temp.Path, 1, shape);
        var code = new byte[8];
        Assert.Throws<ArgumentOutOfRangeException>(() => segment.CodeAt(0, 3, code));
        Assert.Throws<ArgumentOutOfRangeException>(() => segment.CodeAt(0, -1, code));
        Assert.Throws<ArgumentOutOfRangeException>(() => segment.CodeAt(1, 0, code));
        Assert.Throws<ArgumentOutOfRangeException>(() => segment.CodeAt(2, 0, code));
        Assert.Throws<ArgumentException>(() => segment.CodeAt(0, 0, new byte[7]));
        Assert.Throws<ArgumentOutOfRangeException>(() => segment.CodeBytes(2));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(257)]
    public void Shape_with_an_invalid_m_is_rejected(int m)
    {
        Assert.ThrowsAny<ArgumentException>(() => SegmentWriter.Create(_temp.Path, 1, Shape(1, m, false), 1));
        Assert.ThrowsAny<ArgumentException>(() => Segment.Open(_temp.Path, 1, Shape(1, m, false)));
    }

    [Fact]
    public void List_directory_whose_blocks_exceed_the_codes_region_fails_Open()
    {
        // Two lists of 32 take two blocks; 33 + 31 would take three.
        var shape = Shape(2, 8, vectors: false);
        Write(MakeEntries(shape, [32, 32], seed: 4));
        var directory = ReadRegion(CodesPath(), SegmentHeader.DirectoryRegion);
        long[] table = [0, 33, 33, 31];
        using (var file = new FileStream(CodesPath(), FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = directory.Offset;
            file.Write(MemoryMarshal.AsBytes(table.AsSpan()));
        }
        ulong checksum = FileHeaders.Checksum(MemoryMarshal.AsBytes(table.AsSpan()));
        RewriteHeader(CodesPath(), h => BinaryPrimitives.WriteUInt64LittleEndian(RegionEntry(h, SegmentHeader.DirectoryRegion)[16..], checksum));
        var e = OpenFails(shape);
        Assert.Equal(CodesPath(), e.FilePath);
        Assert.Contains("codes region", e.Problem);
    }

    [Theory]
    [InlineData(-128)]  // a block short: the lists' blocks exceed the region
    [InlineData(64)]    // longer than the lists' blocks, though within the planned bound
    [InlineData(1L << 40)] // beyond the bound for this count
    [InlineData(-1L << 40)]
    public void Codes_region_length_that_does_not_match_the_lists_fails_Open(long delta)
    {
        var shape = Shape(3, 8, vectors: true);
        Write(MakeEntries(shape, [33, 0, 100], seed: 5));
        RewriteHeader(CodesPath(), h =>
        {
            var entry = RegionEntry(h, SegmentHeader.CodesRegion);
            BinaryPrimitives.WriteInt64LittleEndian(entry[8..], BinaryPrimitives.ReadInt64LittleEndian(entry[8..]) + delta);
        });
        var e = OpenFails(shape);
        Assert.Contains("codes region", e.Problem);
    }

    [Fact]
    public void List_whose_blocks_exceed_a_span_fails_Open()
    {
        // A sparse file: one list of 2^19 blocks of 4096 bytes (m = 256) = 2 GiB, one byte more than a span holds.
        var shape = Shape(1, 256, vectors: false);
        long count = (int.MaxValue / FastScan.BlockBytes(256) + 1L) * FastScan.BlockSize;
        var regions = SegmentHeader.Plan(SegmentHeader.CodesFileRegionLengths(shape, count));
        var directory = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(directory.AsSpan(8), count);
        regions[0] = regions[0] with { Checksum = FileHeaders.Checksum(directory) };
        regions[SegmentHeader.CodesRegion] = regions[SegmentHeader.CodesRegion] with { Length = FastScan.BytesFor(count, 256) };
        var header = new byte[SegmentHeader.Size];
        new SegmentHeader { Shape = shape, Count = count, SegmentNumber = 1, Regions = regions }.WriteTo(header, SegmentHeader.CodesMagic);
        using (var file = new FileStream(CodesPath(), FileMode.Create, FileAccess.Write))
        {
            file.SetLength(regions[^1].End);
            file.Write(header);
            file.Position = regions[0].Offset;
            file.Write(directory);
        }
        Assert.Contains("fit one span", OpenFails(shape).Problem);
    }

    [Fact]
    public void Layout_mismatch_and_unknown_layout_fail_Open()
    {
        var shape = Shape(2, 8, vectors: false);
        Write(MakeEntries(shape, [5, 40], seed: 6));
        Assert.Contains("code layout", OpenFails(shape with { Layout = CodeLayout.Pq8 }).Problem);
        RewriteHeader(CodesPath(), h => BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(SegmentHeader.LayoutOffset), 3));
        Assert.Contains("not supported", OpenFails(shape).Problem);
    }

    [Fact]
    public void Pq8_segment_opened_as_pq4fs_fails_Open()
    {
        var pq8 = new SegmentShape(2, 8, 4, CodeLayout.Pq8, HasVectors: false);
        using (var writer = SegmentWriter.Create(_temp.Path, 1, pq8, 1))
        {
            writer.Append(1, new byte[8], 7, 0, default);
            writer.Complete();
        }
        Assert.Contains("code layout", OpenFails(pq8 with { Layout = CodeLayout.Pq4FastScan }).Problem);
    }

    [Fact]
    public void Flipped_code_byte_fails_Verify()
    {
        var shape = Shape(2, 8, vectors: false);
        Write(MakeEntries(shape, [40, 7], seed: 7));
        long offset = ReadRegion(CodesPath(), SegmentHeader.CodesRegion).Offset + 300;
        using (var file = new FileStream(CodesPath(), FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = offset;
            int b = file.ReadByte();
            file.Position = offset;
            file.WriteByte((byte)(b ^ 0x5A));
        }
        using var segment = Segment.Open(_temp.Path, 1, shape);
        Assert.Contains("the codes region", Assert.Throws<CorruptFileException>(segment.Verify).Problem);
    }
}
