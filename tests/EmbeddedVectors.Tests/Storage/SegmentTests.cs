using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EmbeddedVectors.Storage;
using EmbeddedVectors.Tests.IO;

namespace EmbeddedVectors.Tests.Storage;

public sealed class SegmentTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>Entries already grouped by list, as a segment stores them.</summary>
    private sealed record Entries(SegmentShape Shape, int[] Lists, byte[] Codes, long[] Ids, long[] Payloads, float[] Vectors)
    {
        public int Count => Ids.Length;
    }

    /// <summary>Random entries spread over a random subset of the lists, so some lists stay empty.</summary>
    private static Entries MakeEntries(SegmentShape shape, int count, int seed)
    {
        var rng = new Random(seed);
        int[] used = Enumerable.Range(0, shape.NList).Where(_ => shape.NList == 1 || rng.Next(3) > 0).DefaultIfEmpty(0).ToArray();
        int[] lists = Enumerable.Range(0, count).Select(_ => used[rng.Next(used.Length)]).Order().ToArray();
        var ids = new HashSet<long>();
        while (ids.Count < count) ids.Add(rng.NextInt64(long.MinValue, long.MaxValue));
        var codes = new byte[count * shape.CodeSize];
        rng.NextBytes(codes);
        long[] payloads = Enumerable.Range(0, count).Select(_ => rng.NextInt64()).ToArray();
        float[] vectors = Enumerable.Range(0, count * shape.Dimension).Select(_ => rng.NextSingle()).ToArray();
        return new Entries(shape, lists, codes, [.. ids.OrderBy(_ => rng.Next())], payloads, vectors);
    }

    private long Write(Entries e, long number = 1, bool appendList = false, string? directory = null, uint formatVersion = 0)
    {
        var s = e.Shape;
        using var writer = SegmentWriter.Create(directory ?? _temp.Path, number, s, e.Count, formatVersion: formatVersion);
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
            for (int start = 0; start < e.Count;)
            {
                int end = start;
                while (end < e.Count && e.Lists[end] == e.Lists[start]) end++;
                int n = end - start;
                writer.AppendList(e.Lists[start], e.Codes.AsSpan(start * s.CodeSize, n * s.CodeSize), e.Ids.AsSpan(start, n),
                    e.Payloads.AsSpan(start, n), s.HasVectors ? e.Vectors.AsSpan(start * s.Dimension, n * s.Dimension) : default);
                start = end;
            }
        }
        return writer.Complete();
    }

    private static readonly SegmentShape Standard = new(7, 16, 8, CodeLayout.Pq8, HasVectors: true);

    private string CodesPath(long number = 1) => _temp.File(SegmentWriter.CodesFileName(number));

    private string VectorsPath(long number = 1) => _temp.File(SegmentWriter.VectorsFileName(number));

    private Entries WriteStandard()
    {
        var e = MakeEntries(Standard, 300, seed: 5);
        Write(e);
        return e;
    }

    private static Region ReadRegion(string path, int region)
    {
        var header = File.ReadAllBytes(path).AsSpan(SegmentHeader.RegionsOffset + region * SegmentHeader.RegionEntrySize);
        return new Region(BinaryPrimitives.ReadInt64LittleEndian(header), BinaryPrimitives.ReadInt64LittleEndian(header[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(header[16..]));
    }

    private static void FlipByte(string path, long offset)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        int b = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(b ^ 0x5A));
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

    private CorruptFileException OpenFails(SegmentShape? shape = null) =>
        Assert.Throws<CorruptFileException>(() => Segment.Open(_temp.Path, 1, shape ?? Standard).Dispose());

    [Theory]
    [InlineData(1, 200, 8, true, false)]
    [InlineData(1, 1, 48, false, true)]
    [InlineData(7, 500, 5, false, true)]
    [InlineData(7, 1000, 48, true, true)]
    [InlineData(64, 800, 16, true, false)]
    [InlineData(64, 300, 3, false, false)]
    [InlineData(64, 0, 8, true, true)]
    public void Round_trip_reads_back_every_entry(int nlist, int count, int codeSize, bool vectors, bool appendList)
    {
        var shape = new SegmentShape(nlist, codeSize, 12, CodeLayout.Pq8, vectors);
        var e = MakeEntries(shape, count, seed: nlist * 31 + count);
        long bytes = Write(e, number: 3, appendList);

        string[] files = Directory.GetFiles(_temp.Path).Select(f => Path.GetFileName(f)).Order().ToArray();
        Assert.Equal(vectors ? ["seg-000003.evs", "seg-000003.evv"] : new[] { "seg-000003.evs" }, files);
        Assert.Equal(files.Sum(f => new FileInfo(_temp.File(f)).Length), bytes);

        using var segment = Segment.Open(_temp.Path, 3, shape);
        Assert.Equal(3, segment.Number);
        Assert.Equal(shape, segment.Shape);
        Assert.Equal(count, segment.Count);
        Assert.Equal(bytes, segment.BytesOnDisk);
        int position = 0;
        for (int l = 0; l < nlist; l++)
        {
            int n = e.Lists.Count(x => x == l);
            Assert.Equal(position, segment.ListStart(l));
            Assert.Equal(n, segment.ListCount(l));
            Assert.True(segment.Codes(l).SequenceEqual(e.Codes.AsSpan(position * codeSize, n * codeSize)));
            Assert.True(segment.Ids(l).SequenceEqual(e.Ids.AsSpan(position, n)));
            Assert.True(segment.PayloadAddresses(l).SequenceEqual(e.Payloads.AsSpan(position, n)));
            position += n;
        }
        for (int p = 0; p < count; p++)
        {
            Assert.Equal(e.Ids[p], segment.IdAt(p));
            Assert.Equal(e.Payloads[p], segment.PayloadAddressAt(p));
            if (vectors) Assert.True(segment.VectorAt(p).SequenceEqual(e.Vectors.AsSpan(p * shape.Dimension, shape.Dimension)));
            Assert.Equal(p, segment.Find(e.Ids[p]));
        }
        var present = e.Ids.ToHashSet();
        var rng = new Random(1);
        foreach (long absent in new[] { long.MinValue, long.MaxValue, 0, -1 }.Concat(Enumerable.Range(0, 200).Select(_ => rng.NextInt64(long.MinValue, long.MaxValue))))
            if (!present.Contains(absent)) Assert.Equal(-1, segment.Find(absent));
        segment.Verify();
    }

    [Fact]
    public unsafe void Codes_of_the_first_list_are_64_byte_aligned_in_memory()
    {
        var e = WriteStandard();
        using var segment = Segment.Open(_temp.Path, 1, Standard);
        int first = e.Lists[0];
        Assert.Equal(0, segment.ListStart(first));
        Assert.Equal(0, (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(segment.Codes(first))) % 64);
        Assert.Equal(0, (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(segment.Ids(first))) % 64);
        Assert.Equal(0, (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(segment.VectorAt(0))) % 64);
    }

    [Theory]
    [InlineData(SegmentHeader.CodesRegion, "codes")]
    [InlineData(SegmentHeader.IdsRegion, "ids")]
    [InlineData(SegmentHeader.PayloadRegion, "payload addresses")]
    [InlineData(SegmentHeader.IdIndexRegion, "id index")]
    public void Flipped_region_byte_opens_but_fails_Verify_naming_the_region(int region, string name)
    {
        WriteStandard();
        FlipByte(CodesPath(), ReadRegion(CodesPath(), region).Offset + 21);
        using var segment = Segment.Open(_temp.Path, 1, Standard);
        var e = Assert.Throws<CorruptFileException>(segment.Verify);
        Assert.Equal(CodesPath(), e.FilePath);
        Assert.Contains($"the {name} region", e.Problem);
        Assert.Contains("checksum", e.Problem);
    }

    [Fact]
    public void Flipped_vector_byte_fails_Verify_naming_the_vectors_file()
    {
        WriteStandard();
        FlipByte(VectorsPath(), ReadRegion(VectorsPath(), SegmentHeader.VectorsRegion).Offset + 1000);
        using var segment = Segment.Open(_temp.Path, 1, Standard);
        var e = Assert.Throws<CorruptFileException>(segment.Verify);
        Assert.Equal(VectorsPath(), e.FilePath);
        Assert.Contains("the vectors region", e.Problem);
    }

    [Theory]
    [InlineData(0u)] // the newest: positions only
    [InlineData(1u)] // (id, position) pairs
    public void Id_index_pointing_at_the_wrong_position_is_caught_by_Find_and_Verify(uint formatVersion)
    {
        var entries = MakeEntries(Standard, 300, seed: 5);
        Write(entries, formatVersion: formatVersion);
        long indexOffset = ReadRegion(CodesPath(), SegmentHeader.IdIndexRegion).Offset;
        long firstId = entries.Ids.Min();
        long secondId = entries.Ids.Order().ElementAt(1);
        using (var file = new FileStream(CodesPath(), FileMode.Open, FileAccess.ReadWrite))
        {
            // The smallest id's position: far outside the segment; with pairs, the second id's: a valid but wrong one
            // (positions alone hold no id to compare, so there a wrong position is a wrong answer that Verify catches).
            bool pairs = formatVersion is 1 or 2;
            file.Position = indexOffset + (pairs ? 8 : 0);
            file.Write(pairs ? BitConverter.GetBytes(long.MaxValue) : BitConverter.GetBytes(uint.MaxValue));
            if (pairs)
            {
                file.Position = indexOffset + 16 + 8;
                file.Write(BitConverter.GetBytes((long)Array.IndexOf(entries.Ids, firstId)));
            }
        }
        using var segment = Segment.Open(_temp.Path, 1, Standard);
        Assert.Contains("beyond the segment's 300 entries", Assert.Throws<CorruptFileException>(() => segment.Find(firstId)).Problem);
        Assert.Contains("id index", Assert.Throws<CorruptFileException>(segment.Verify).Problem);
        if (formatVersion == 1) Assert.Contains("which does not hold it", Assert.Throws<CorruptFileException>(() => segment.Find(secondId)).Problem);
    }

    [Theory]
    [InlineData(1u, false)]
    [InlineData(2u, true)]
    [InlineData(3u, true)]
    public void Every_format_version_reads_back_and_finds_every_id(uint formatVersion, bool float16)
    {
        var shape = Standard with { Rows = float16 ? RowEncoding.Float16 : RowEncoding.Float32 };
        var e = MakeEntries(shape, 500, seed: 9);
        Write(e, formatVersion: formatVersion);
        var header = File.ReadAllBytes(CodesPath());
        Assert.Equal(formatVersion, BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(SegmentHeader.VersionOffset)));
        Assert.Equal(500L * (formatVersion >= 3 ? 4 : 16), ReadRegion(CodesPath(), SegmentHeader.IdIndexRegion).Length);
        using var segment = Segment.Open(_temp.Path, 1, shape);
        segment.Verify();
        for (int i = 0; i < e.Count; i++) Assert.Equal(i, segment.Find(e.Ids[i])); // entries were written in position order
        var absent = new Random(1);
        for (int i = 0; i < 200; i++)
        {
            long id = absent.NextInt64();
            if (Array.IndexOf(e.Ids, id) < 0) Assert.Equal(-1, segment.Find(id));
        }
        Assert.Equal(-1, segment.Find(long.MinValue));
        Assert.Equal(-1, segment.Find(long.MaxValue));
    }

    [Fact]
    public void A_version_1_segment_cannot_record_another_row_encoding()
        => Assert.Throws<ArgumentOutOfRangeException>(() => SegmentWriter.Create(_temp.Path, 1, Standard with { Rows = RowEncoding.Float16 }, 1, formatVersion: 1));

    [Theory]
    [InlineData(SegmentHeader.NListOffset)]
    [InlineData(SegmentHeader.CountOffset)]
    [InlineData(SegmentHeader.RegionsOffset + 30)]
    [InlineData(1000)] // reserved bytes count too
    public void Flipped_header_byte_fails_Open_on_the_checksum(int offset)
    {
        WriteStandard();
        FlipByte(CodesPath(), offset);
        var e = OpenFails();
        Assert.Equal(CodesPath(), e.FilePath);
        Assert.Contains("header checksum", e.Problem);
    }

    [Fact]
    public void Flipped_vectors_header_byte_fails_Open()
    {
        WriteStandard();
        FlipByte(VectorsPath(), SegmentHeader.DimensionOffset);
        Assert.Equal(VectorsPath(), OpenFails().FilePath);
    }

    [Theory]
    [InlineData(false, 100)]
    [InlineData(false, SegmentHeader.Size)]
    [InlineData(false, -2)] // half
    [InlineData(false, -1)] // one byte short
    [InlineData(true, 100)]
    [InlineData(true, -2)]
    public void Truncated_file_fails_Open(bool vectorsFile, long length)
    {
        WriteStandard();
        string path = vectorsFile ? VectorsPath() : CodesPath();
        long full = new FileInfo(path).Length;
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
            file.SetLength(length switch { -2 => full / 2, -1 => full - 1, _ => length });
        var e = OpenFails();
        Assert.Equal(path, e.FilePath);
    }

    [Theory]
    [InlineData(SegmentHeader.IdsRegion, 1L)]           // offset = file length
    [InlineData(SegmentHeader.IdIndexRegion, 2L)]       // offset near long.MaxValue: offset + length overflows
    [InlineData(SegmentHeader.CodesRegion, 3L)]         // offset inside the header
    [InlineData(SegmentHeader.PayloadRegion, 4L)]       // misaligned
    [InlineData(SegmentHeader.DirectoryRegion, 5L)]     // length longer than the shape implies
    [InlineData(SegmentHeader.CodesRegion, 6L)]         // negative length
    public void Header_with_valid_checksum_but_bad_region_fails_Open(int region, long kind)
    {
        WriteStandard();
        long fileLength = new FileInfo(CodesPath()).Length;
        RewriteHeader(CodesPath(), h =>
        {
            var entry = RegionEntry(h, region);
            long offset = BinaryPrimitives.ReadInt64LittleEndian(entry);
            long length = BinaryPrimitives.ReadInt64LittleEndian(entry[8..]);
            (offset, length) = kind switch
            {
                1 => (fileLength, length),
                2 => (long.MaxValue - 63, length),
                3 => (64, length),
                4 => (offset + 8, length),
                5 => (offset, length + 16),
                _ => (offset, -1),
            };
            BinaryPrimitives.WriteInt64LittleEndian(entry, offset);
            BinaryPrimitives.WriteInt64LittleEndian(entry[8..], length);
        });
        var e = OpenFails();
        Assert.Contains("region", e.Problem);
    }

    [Theory]
    [InlineData(long.MaxValue / 2)]
    [InlineData(long.MaxValue)]
    [InlineData(-1L)]
    [InlineData(301L)]
    public void Header_with_valid_checksum_but_wrong_count_fails_Open(long count)
    {
        WriteStandard();
        RewriteHeader(CodesPath(), h => BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(SegmentHeader.CountOffset), count));
        OpenFails();
    }

    [Theory]
    [InlineData("overflow")]
    [InlineData("negative")]
    [InlineData("gap")]
    [InlineData("short")]
    public void List_directory_with_valid_checksums_but_bad_counts_fails_Open(string kind)
    {
        WriteStandard();
        var directory = ReadRegion(CodesPath(), SegmentHeader.DirectoryRegion);
        var table = new long[Standard.NList * 2];
        using (var file = new FileStream(CodesPath(), FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = directory.Offset;
            file.ReadExactly(MemoryMarshal.AsBytes(table.AsSpan()));
            switch (kind)
            {
                case "overflow": // every list huge, starts chained so only the counts give it away
                    for (int l = 0; l < Standard.NList; l++) (table[2 * l], table[2 * l + 1]) = (l == 0 ? 0 : long.MaxValue, long.MaxValue);
                    break;
                case "negative":
                    (table[1], table[3]) = (-1, table[3] + table[1] + 1);
                    break;
                case "gap":
                    table[2] += 1;
                    break;
                default:
                    table[^1] -= 1;
                    break;
            }
            file.Position = directory.Offset;
            file.Write(MemoryMarshal.AsBytes(table.AsSpan()));
        }
        ulong checksum = FileHeaders.Checksum(MemoryMarshal.AsBytes(table.AsSpan()));
        RewriteHeader(CodesPath(), h => BinaryPrimitives.WriteUInt64LittleEndian(RegionEntry(h, SegmentHeader.DirectoryRegion)[16..], checksum));
        Assert.Contains("list directory", OpenFails().Problem);
    }

    [Fact]
    public void List_directory_damaged_fails_Open_on_its_checksum()
    {
        WriteStandard();
        FlipByte(CodesPath(), ReadRegion(CodesPath(), SegmentHeader.DirectoryRegion).Offset + 3);
        Assert.Contains("list directory does not match its checksum", OpenFails().Problem);
    }

    [Fact]
    public void List_whose_codes_exceed_a_span_fails_Open()
    {
        // A sparse file: one list of 2^19 codes of 4096 bytes = 2 GiB, one byte more than a span holds.
        var shape = new SegmentShape(1, 4096, 1, CodeLayout.Pq8, HasVectors: false);
        long count = int.MaxValue / 4096 + 1;
        var regions = SegmentHeader.Plan(SegmentHeader.CodesFileRegionLengths(shape, count));
        var directory = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(directory.AsSpan(8), count);
        regions[0] = regions[0] with { Checksum = FileHeaders.Checksum(directory) };
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
    public void Newer_format_version_fails_Open_with_a_clear_message()
    {
        WriteStandard();
        // Version 3 (the compact id index) is the newest this build reads; 4 is from the future.
        RewriteHeader(CodesPath(), h => BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(SegmentHeader.VersionOffset), 4));
        var e = Assert.Throws<NewerFormatVersionException>(() => Segment.Open(_temp.Path, 1, Standard).Dispose());
        Assert.Equal((4, 3), (e.FileVersion, e.SupportedVersion));
        Assert.Equal(CodesPath(), e.FilePath);
        Assert.Contains("newer", e.Problem);
        Assert.Contains("format version 4", e.Problem);
        Assert.Contains("reads version 3", e.Problem);
        RewriteHeader(CodesPath(), h => BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(SegmentHeader.VersionOffset), 0));
        Assert.Contains("invalid format version 0", OpenFails().Problem);
    }

    [Fact]
    public void Wrong_magic_fails_Open()
    {
        WriteStandard();
        File.Copy(VectorsPath(), CodesPath(), overwrite: true);
        Assert.Contains("EVSEGCOD", OpenFails().Problem);
    }

    [Theory]
    [InlineData("nlist")]
    [InlineData("code size")]
    [InlineData("dimension")]
    [InlineData("vectors")]
    public void Shape_mismatch_fails_Open_naming_the_field(string field)
    {
        WriteStandard();
        var expected = field switch
        {
            "nlist" => Standard with { NList = 8 },
            "code size" => Standard with { CodeSize = 32 },
            "dimension" => Standard with { Dimension = 9 },
            _ => Standard with { HasVectors = false },
        };
        Assert.Contains(field, OpenFails(expected).Problem);
    }

    [Fact]
    public void Files_of_another_segment_number_fail_Open()
    {
        WriteStandard();
        File.Move(CodesPath(1), CodesPath(2));
        File.Move(VectorsPath(1), VectorsPath(2));
        var e = Assert.Throws<CorruptFileException>(() => Segment.Open(_temp.Path, 2, Standard));
        Assert.Contains("segment 1", e.Problem);
    }

    [Fact]
    public void Vectors_file_of_another_write_fails_Open()
    {
        WriteStandard();
        string other = Path.Combine(_temp.Path, "other");
        Directory.CreateDirectory(other);
        Write(MakeEntries(Standard, 300, seed: 6), directory: other);
        File.Copy(Path.Combine(other, SegmentWriter.VectorsFileName(1)), VectorsPath(), overwrite: true);
        Assert.Contains("does not belong", OpenFails().Problem);
    }

    [Fact]
    public void Missing_vectors_file_fails_Open_with_a_corrupt_file_naming_it()
    {
        WriteStandard();
        File.Delete(VectorsPath());
        var e = Assert.Throws<CorruptFileException>(() => Segment.Open(_temp.Path, 1, Standard));
        Assert.Equal(VectorsPath(), e.FilePath);
        Assert.Contains("missing", e.Problem);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    public void Dispose_without_Complete_leaves_no_files(int appended)
    {
        var e = MakeEntries(Standard, 20, seed: 2);
        using (var writer = SegmentWriter.Create(_temp.Path, 1, Standard, e.Count))
        {
            for (int i = 0; i < appended; i++)
                writer.Append(e.Lists[i], e.Codes.AsSpan(i * 16, 16), e.Ids[i], e.Payloads[i], e.Vectors.AsSpan(i * 8, 8));
            Assert.NotEmpty(Directory.GetFiles(_temp.Path));
        }
        Assert.Empty(Directory.GetFiles(_temp.Path));
    }

    [Fact]
    public void Writer_rejects_misuse()
    {
        var shape = Standard with { HasVectors = false };
        byte[] code = new byte[16];
        using (var writer = SegmentWriter.Create(_temp.Path, 1, shape, 3))
        {
            writer.Append(3, code, 1, 0, default);
            Assert.Throws<InvalidOperationException>(() => writer.Append(2, code, 2, 0, default));
            Assert.Throws<ArgumentOutOfRangeException>(() => writer.Append(7, code, 2, 0, default));
            Assert.Throws<ArgumentException>(() => writer.Append(3, new byte[15], 2, 0, default));
            Assert.Throws<InvalidOperationException>(() => writer.Complete()); // 1 of 3
        }
        using (var writer = SegmentWriter.Create(_temp.Path, 1, shape, 2))
        {
            writer.AppendList(0, new byte[32], [5, 6], [0, 0], default);
            Assert.Throws<InvalidOperationException>(() => writer.Append(1, code, 7, 0, default)); // a third entry
        }
        using (var writer = SegmentWriter.Create(_temp.Path, 1, shape, 3))
        {
            writer.Append(0, code, 42, 0, default);
            writer.AppendList(5, new byte[32], [7, 42], [0, 0], default);
            Assert.Contains("42", Assert.Throws<InvalidOperationException>(() => writer.Complete()).Message);
        }
        Assert.Empty(Directory.GetFiles(_temp.Path));
        // pq4fs reads the code size as m, which must be even and 2..256.
        Assert.Throws<ArgumentOutOfRangeException>(() => SegmentWriter.Create(_temp.Path, 1, shape with { Layout = CodeLayout.Pq4FastScan, CodeSize = 3 }, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => SegmentWriter.Create(_temp.Path, 1, shape with { Layout = CodeLayout.Pq4FastScan, CodeSize = 258 }, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => SegmentWriter.Create(_temp.Path, 1, shape with { NList = 0 }, 1));
    }

    [Fact]
    public void Readers_reject_out_of_range_arguments()
    {
        WriteStandard();
        using (var segment = Segment.Open(_temp.Path, 1, Standard))
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => segment.IdAt(-1));
            Assert.Throws<ArgumentOutOfRangeException>(() => segment.IdAt(300));
            Assert.Throws<ArgumentOutOfRangeException>(() => segment.PayloadAddressAt(300));
            Assert.Throws<ArgumentOutOfRangeException>(() => segment.VectorAt(long.MaxValue));
            Assert.Throws<ArgumentOutOfRangeException>(() => segment.Codes(7));
            Assert.Throws<ArgumentOutOfRangeException>(() => segment.ListStart(-1));
            segment.Dispose();
            Assert.Throws<ObjectDisposedException>(() => segment.IdAt(0));
        }
        var e = MakeEntries(Standard with { HasVectors = false }, 10, seed: 3);
        Write(e, number: 2);
        using var plain = Segment.Open(_temp.Path, 2, e.Shape);
        Assert.Throws<InvalidOperationException>(() => plain.VectorAt(0));
    }

    [Fact]
    public void CodeAt_copies_each_pq8_code()
    {
        var e = WriteStandard();
        using var segment = Segment.Open(_temp.Path, 1, Standard);
        var code = new byte[Standard.CodeSize];
        for (int l = 0; l < Standard.NList; l++)
        {
            Assert.Equal(segment.Codes(l).Length, segment.CodeBytes(l));
            for (int i = 0; i < segment.ListCount(l); i++)
            {
                segment.CodeAt(l, i, code);
                Assert.True(code.AsSpan().SequenceEqual(e.Codes.AsSpan((int)(segment.ListStart(l) + i) * Standard.CodeSize, Standard.CodeSize)));
            }
        }
        int first = e.Lists[0];
        Assert.Throws<ArgumentOutOfRangeException>(() => segment.CodeAt(first, segment.ListCount(first), code));
        Assert.Throws<ArgumentException>(() => segment.CodeAt(first, 0, new byte[Standard.CodeSize + 1]));
    }

    [Fact]
    public void Complete_replaces_a_leftover_segment_of_the_same_number()
    {
        WriteStandard();
        var e = MakeEntries(Standard, 40, seed: 9);
        Write(e);
        using var segment = Segment.Open(_temp.Path, 1, Standard);
        Assert.Equal(40, segment.Count);
    }
}
