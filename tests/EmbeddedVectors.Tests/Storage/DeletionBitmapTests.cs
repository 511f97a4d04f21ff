using System.Buffers.Binary;
using EmbeddedVectors.Storage;
using EmbeddedVectors.Tests.IO;

namespace EmbeddedVectors.Tests.Storage;

public sealed class DeletionBitmapTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string PathOf(long segment, long version) => _temp.File(DeletionBitmap.FileName(segment, version));

    private static DeletionBitmap Sample(long count, int seed, out HashSet<long> deleted)
    {
        var bitmap = new DeletionBitmap(count);
        var rng = new Random(seed);
        deleted = [];
        for (int i = 0; i < count / 3; i++)
        {
            long p = rng.NextInt64(count);
            Assert.Equal(deleted.Add(p), bitmap.MarkDeleted(p));
        }
        return bitmap;
    }

    [Fact]
    public void File_name_pads_segment_and_version()
    {
        Assert.Equal("seg-000001.del-000003", DeletionBitmap.FileName(1, 3));
        Assert.Equal("seg-1234567.del-000000", DeletionBitmap.FileName(1234567, 0));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(64)]
    [InlineData(1000)]
    [InlineData(100_003)]
    public void Write_and_Load_round_trip(long count)
    {
        var bitmap = Sample(count, seed: (int)count, out var deleted);
        if (count > 0) bitmap.MarkDeleted(count - 1);
        if (count > 0) deleted.Add(count - 1);
        bitmap.Write(_temp.Path, 7, 2);
        Assert.Equal([DeletionBitmap.FileName(7, 2)], Directory.GetFiles(_temp.Path).Select(f => Path.GetFileName(f)));
        Assert.Equal(DeletionBitmap.HeaderSize + (count + 63) / 64 * 8, new FileInfo(PathOf(7, 2)).Length);

        var loaded = DeletionBitmap.Load(_temp.Path, 7, 2, count);
        Assert.Equal(count, loaded.Count);
        Assert.Equal(deleted.Count, loaded.DeletedCount);
        for (long p = 0; p < count; p++) Assert.Equal(deleted.Contains(p), loaded.IsDeleted(p));
    }

    [Fact]
    public void MarkDeleted_reports_only_new_deletions_and_checks_range()
    {
        var bitmap = new DeletionBitmap(130);
        Assert.True(bitmap.MarkDeleted(129));
        Assert.False(bitmap.MarkDeleted(129));
        Assert.True(bitmap.MarkDeleted(63));
        Assert.True(bitmap.IsDeleted(63) && bitmap.IsDeleted(129) && !bitmap.IsDeleted(64));
        Assert.Equal(2, bitmap.DeletedCount);
        Assert.Throws<ArgumentOutOfRangeException>(() => bitmap.MarkDeleted(130));
        Assert.Throws<ArgumentOutOfRangeException>(() => bitmap.IsDeleted(-1));
    }

    [Fact]
    public void Clone_is_independent()
    {
        var bitmap = Sample(500, seed: 1, out var deleted);
        var clone = bitmap.Clone();
        long fresh = Enumerable.Range(0, 500).First(p => !deleted.Contains(p));
        Assert.True(clone.MarkDeleted(fresh));
        Assert.False(bitmap.IsDeleted(fresh));
        Assert.Equal(bitmap.DeletedCount + 1, clone.DeletedCount);
    }

    [Fact]
    public void Concurrent_MarkDeleted_counts_each_position_once()
    {
        const long count = 200_000;
        var bitmap = new DeletionBitmap(count);
        long newlyDeleted = 0;
        // Eight threads over overlapping ranges: every position is marked by two or three of them.
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, t =>
        {
            long mine = 0;
            for (long p = t * count / 16; p < count; p += 1 + t % 3)
                if (bitmap.MarkDeleted(p)) mine++;
            Interlocked.Add(ref newlyDeleted, mine);
        });
        long expected = 0;
        for (long p = 0; p < count; p++)
        {
            bool any = Enumerable.Range(0, 8).Any(t => p >= t * count / 16 && (p - t * count / 16) % (1 + t % 3) == 0);
            Assert.Equal(any, bitmap.IsDeleted(p));
            if (any) expected++;
        }
        Assert.Equal(expected, bitmap.DeletedCount);
        Assert.Equal(expected, newlyDeleted);
    }

    [Theory]
    [InlineData(20)]    // in the header: checksum
    [InlineData(70)]    // in the bitmap: checksum
    public void Flipped_byte_fails_Load(int offset)
    {
        Sample(1000, seed: 2, out _).Write(_temp.Path, 1, 1);
        byte[] bytes = File.ReadAllBytes(PathOf(1, 1));
        bytes[offset] ^= 0x10;
        File.WriteAllBytes(PathOf(1, 1), bytes);
        var e = Assert.Throws<CorruptFileException>(() => DeletionBitmap.Load(_temp.Path, 1, 1, 1000));
        Assert.Equal(PathOf(1, 1), e.FilePath);
        Assert.Contains("checksum", e.Problem);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(30)]
    [InlineData(DeletionBitmap.HeaderSize)]
    [InlineData(DeletionBitmap.HeaderSize + 100)]
    public void Truncated_file_fails_Load(int length)
    {
        Sample(1000, seed: 3, out _).Write(_temp.Path, 1, 1);
        using (var file = new FileStream(PathOf(1, 1), FileMode.Open, FileAccess.Write)) file.SetLength(length);
        Assert.Throws<CorruptFileException>(() => DeletionBitmap.Load(_temp.Path, 1, 1, 1000));
    }

    [Fact]
    public void Load_checks_the_expected_count_segment_and_version()
    {
        Sample(1000, seed: 4, out _).Write(_temp.Path, 1, 1);
        Assert.Contains("covers 1000 entries", Assert.Throws<CorruptFileException>(() => DeletionBitmap.Load(_temp.Path, 1, 1, 999)).Problem);
        File.Copy(PathOf(1, 1), PathOf(2, 1));
        Assert.Throws<CorruptFileException>(() => DeletionBitmap.Load(_temp.Path, 2, 1, 1000));
        File.Copy(PathOf(1, 1), PathOf(1, 5));
        Assert.Throws<CorruptFileException>(() => DeletionBitmap.Load(_temp.Path, 1, 5, 1000));
    }

    /// <summary>Edits the header and restores a valid header checksum, so only the edited field is wrong.</summary>
    private void RewriteHeader(Action<byte[]> edit)
    {
        byte[] bytes = File.ReadAllBytes(PathOf(1, 1));
        edit(bytes);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(DeletionBitmap.HeaderChecksumOffset),
            FileHeaders.Checksum(bytes.AsSpan(0, DeletionBitmap.HeaderChecksumOffset)));
        File.WriteAllBytes(PathOf(1, 1), bytes);
    }

    [Fact]
    public void Newer_version_fails_Load_with_a_clear_message()
    {
        Sample(100, seed: 5, out _).Write(_temp.Path, 1, 1);
        RewriteHeader(b => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(DeletionBitmap.VersionOffset), 2));
        var e = Assert.Throws<NewerFormatVersionException>(() => DeletionBitmap.Load(_temp.Path, 1, 1, 100));
        Assert.Contains("newer", e.Problem);
        Assert.Equal((2, 1), (e.FileVersion, e.SupportedVersion));
        RewriteHeader(b => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(DeletionBitmap.VersionOffset), 0));
        Assert.Contains("invalid format version 0", Assert.Throws<CorruptFileException>(() => DeletionBitmap.Load(_temp.Path, 1, 1, 100)).Problem);
    }

    [Fact]
    public void Wrong_deleted_count_with_valid_checksums_fails_Load()
    {
        Sample(100, seed: 6, out var deleted).Write(_temp.Path, 1, 1);
        RewriteHeader(b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(DeletionBitmap.DeletedCountOffset), deleted.Count + 1));
        Assert.Contains("deleted", Assert.Throws<CorruptFileException>(() => DeletionBitmap.Load(_temp.Path, 1, 1, 100)).Problem);
    }

    [Fact]
    public void Bits_past_the_count_with_valid_checksums_fail_Load()
    {
        new DeletionBitmap(100).Write(_temp.Path, 1, 1);
        RewriteHeader(b =>
        {
            b[DeletionBitmap.HeaderSize + 15] = 0x80; // bit 127, past the 100 entries
            BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(DeletionBitmap.DeletedCountOffset), 1);
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(DeletionBitmap.BitmapChecksumOffset), FileHeaders.Checksum(b.AsSpan(DeletionBitmap.HeaderSize)));
        });
        Assert.Contains("past the last entry", Assert.Throws<CorruptFileException>(() => DeletionBitmap.Load(_temp.Path, 1, 1, 100)).Problem);
    }

    [Fact]
    public void Write_replaces_nothing_else_and_leaves_no_temp_file()
    {
        var bitmap = Sample(300, seed: 7, out _);
        bitmap.Write(_temp.Path, 4, 1);
        bitmap.MarkDeleted(0);
        bitmap.Write(_temp.Path, 4, 2);
        Assert.Equal(["seg-000004.del-000001", "seg-000004.del-000002"],
            Directory.GetFiles(_temp.Path).Select(f => Path.GetFileName(f)!).Order());
        Assert.Equal(bitmap.DeletedCount, DeletionBitmap.Load(_temp.Path, 4, 2, 300).DeletedCount);
    }
}
