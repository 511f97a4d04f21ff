using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using EmbeddedVectors.Storage;

namespace EmbeddedVectors.Tests.Store;

public sealed class StoreErrorTests
{
    private static EmbeddedVectorStoreOptions Options => new()
    {
        Dimension = 8,
        NList = 4,
        M = 2,
        TrainingThreshold = 300,
        SealThreshold = 200,
        KMeans = new EmbeddedVectors.Training.KMeansOptions { Iterations = 5 },
    };

    private static float[] Vectors(int count, int seed = 1)
    {
        var random = new Random(seed);
        var values = new float[count * 8];
        for (int i = 0; i < values.Length; i++) values[i] = random.NextSingle();
        return values;
    }

    private static EmbeddedVectorStore Filled(string path, int count = 500, bool opq = false)
    {
        var store = EmbeddedVectorStore.Create(path, Options with { Opq = opq, OpqIterations = 2 });
        store.AddRange(Enumerable.Range(0, count).Select(i => (long)i).ToArray(), Vectors(count));
        store.Commit();
        return store;
    }

    [Fact]
    public void Bad_vectors_and_arguments_are_rejected_and_nothing_stored_is_harmed()
    {
        using var dir = new TempStoreDirectory();
        using var store = Filled(dir.Path);
        Assert.Contains("8-dimensional", Assert.Throws<ArgumentException>(() => store.Add(1000, new float[7], "x")).Message);
        var nan = new float[8];
        nan[2] = float.NaN;
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => store.Add(1000, nan, "x")).Message);
        nan[2] = float.NegativeInfinity;
        Assert.Contains("infinite", Assert.Throws<ArgumentException>(() => store.AddRange([1, 2], new float[16] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, float.PositiveInfinity })).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Search(new float[8], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Search(new float[8], -1));
        Assert.Throws<ArgumentException>(() => store.Search(new float[9], 3));
        Assert.Throws<ArgumentException>(() => store.Search(nan, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Search(new float[8], 3, new StoreSearchOptions { NProbe = 0 }));
        Assert.Throws<ArgumentException>(() => store.AddRange([1, 2, 3], Vectors(2)));
        Assert.Equal(500, store.Count);
        Assert.False(store.Contains(1000));
        Assert.NotNull(store.Get(2));
    }

    [Fact]
    public void Bad_options_are_rejected_at_create()
    {
        using var dir = new TempStoreDirectory();
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddedVectorStore.Create(dir.Path, new EmbeddedVectorStoreOptions()));
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddedVectorStore.Create(dir.Path, Options with { Metric = (Metric)9 }));
        Assert.Contains("not divisible", Assert.Throws<ArgumentException>(() => EmbeddedVectorStore.Create(dir.Path, Options with { M = 3 })).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddedVectorStore.Create(dir.Path, Options with { NList = 0 }));
        Assert.Throws<ArgumentException>(() => MetricNames.Parse("hamming"));
    }

    [Fact]
    public void Opening_something_that_is_not_a_store_says_so()
    {
        using var dir = new TempStoreDirectory();
        Assert.Throws<DirectoryNotFoundException>(() => EmbeddedVectorStore.Open(dir.Path));
        Directory.CreateDirectory(dir.Path);
        File.WriteAllText(Path.Combine(dir.Path, "notes.txt"), "hello");
        Assert.Contains("not an EmbeddedVectors store", Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path)).Message);
        File.WriteAllText(Path.Combine(dir.Path, "MANIFEST"), "garbage");
        Assert.Contains("magic", Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path)).Message);
    }

    [Fact]
    public void Creating_over_an_existing_store_is_refused()
    {
        using var dir = new TempStoreDirectory();
        Filled(dir.Path).Dispose();
        Assert.Contains("already holds", Assert.Throws<EmbeddedVectorsException>(() => EmbeddedVectorStore.Create(dir.Path, Options)).Message);
        using var store = EmbeddedVectorStore.OpenOrCreate(dir.Path, Options);
        Assert.Equal(500, store.Count);
    }

    [Fact]
    public void A_newer_format_version_is_refused_with_a_clear_message()
    {
        using var dir = new TempStoreDirectory();
        Filled(dir.Path).Dispose();
        string manifest = Path.Combine(dir.Path, "MANIFEST");
        var bytes = File.ReadAllBytes(manifest);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), 99);
        File.WriteAllBytes(manifest, bytes);
        var e = Assert.Throws<NewerFormatVersionException>(() => EmbeddedVectorStore.Open(dir.Path));
        Assert.Contains("newer", e.Message);
    }

    [Theory]
    [InlineData(Manifest.FileName)]
    [InlineData(QuantizerFile.FileName)]
    [InlineData(RotationFile.FileName)]
    public void A_format_version_of_zero_or_below_or_above_the_newest_is_refused_naming_the_versions(string fileName)
    {
        using var dir = new TempStoreDirectory();
        Filled(dir.Path, opq: true).Dispose();
        var layout = fileName switch
        {
            Manifest.FileName => Manifest.Layout,
            QuantizerFile.FileName => QuantizerFile.Layout,
            _ => RotationFile.Layout,
        };
        string path = Path.Combine(dir.Path, fileName);
        byte[] original = File.ReadAllBytes(path);

        foreach (int version in new[] { 0, -1, int.MinValue })
        {
            WriteVersion(path, original, layout, version);
            var e = Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path));
            Assert.Equal(fileName, Path.GetFileName(e.FilePath));
            Assert.Contains($"invalid format version {version};", e.Problem);
        }
        foreach (int version in new[] { layout.FormatVersion + 1, int.MaxValue })
        {
            WriteVersion(path, original, layout, version);
            var e = Assert.Throws<NewerFormatVersionException>(() => EmbeddedVectorStore.Open(dir.Path));
            Assert.Equal(fileName, Path.GetFileName(e.FilePath));
            Assert.Equal(version, e.FileVersion);
            Assert.Equal(layout.FormatVersion, e.SupportedVersion);
            Assert.Contains($"newer EmbeddedVectors (format version {version}); this build reads version {layout.FormatVersion}. Upgrade", e.Message);
        }
        File.WriteAllBytes(path, original);
        using var store = EmbeddedVectorStore.Open(dir.Path);
        Assert.Equal(500, store.Count);
    }

    /// <summary>Writes <paramref name="original"/> with another format version and, where the file has one, a header checksum that matches it.</summary>
    private static void WriteVersion(string path, byte[] original, ChecksummedFile layout, int version)
    {
        var bytes = original.ToArray();
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(ChecksummedFile.VersionOffset), version);
        if (layout.HeaderChecksumOffset >= 0)
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(layout.HeaderChecksumOffset), XxHash3.HashToUInt64(bytes.AsSpan(0, layout.HeaderChecksumOffset)));
        File.WriteAllBytes(path, bytes);
    }

    [Theory]
    [InlineData(QuantizerFile.FileName)]
    [InlineData(RotationFile.FileName)]
    public void A_damaged_quantizer_or_rotation_header_or_body_is_detected(string fileName)
    {
        using var dir = new TempStoreDirectory();
        Filled(dir.Path, opq: true).Dispose();
        string path = Path.Combine(dir.Path, fileName);
        byte[] original = File.ReadAllBytes(path);
        foreach (var (offset, problem) in new[] { (ChecksummedFile.VersionOffset, "header checksum"), (original.Length - 3, "body checksum") })
        {
            var bytes = original.ToArray();
            bytes[offset] ^= 0x10;
            File.WriteAllBytes(path, bytes);
            Assert.Contains(problem, Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path)).Problem);
        }
        File.WriteAllBytes(path, original[..^4]);
        Assert.Contains("truncated or padded", Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path)).Problem);
    }

    [Fact]
    public void A_damaged_manifest_is_detected()
    {
        using var dir = new TempStoreDirectory();
        Filled(dir.Path).Dispose();
        string manifest = Path.Combine(dir.Path, "MANIFEST");
        var bytes = File.ReadAllBytes(manifest);
        bytes[^5] ^= 0x20;
        File.WriteAllBytes(manifest, bytes);
        Assert.Contains("checksum", Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path)).Message);
    }

    [Fact]
    public void A_second_writer_is_refused_but_readers_may_open_alongside()
    {
        using var dir = new TempStoreDirectory();
        using var writer = Filled(dir.Path);
        var e = Assert.Throws<EmbeddedVectorsException>(() => EmbeddedVectorStore.Open(dir.Path));
        Assert.Contains("open for writing", e.Message);
        writer.Flush();
        using var reader = EmbeddedVectorStore.Open(dir.Path, new EmbeddedVectorStoreOptions { ReadOnly = true });
        Assert.Equal(500, reader.Count);
        Assert.NotNull(reader.Get(7));
        Assert.Throws<InvalidOperationException>(() => reader.Add(1, new float[8], "x"));
        Assert.Throws<InvalidOperationException>(() => reader.Delete(1));
    }

    [Fact]
    public void A_truncated_segment_is_reported_by_open_and_by_verify()
    {
        using var dir = new TempStoreDirectory();
        Filled(dir.Path).Dispose();
        string segment = Directory.GetFiles(dir.Path, "seg-*.evs").OrderBy(f => f).Last();
        using (var stream = new FileStream(segment, FileMode.Open)) stream.SetLength(stream.Length / 2);
        var e = Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path));
        Assert.Contains("seg-", e.Message);
        Assert.NotEmpty(EmbeddedVectorStore.Verify(dir.Path));
    }

    [Fact]
    public void Flipped_bytes_in_segment_codes_are_found_by_verify()
    {
        using var dir = new TempStoreDirectory();
        Filled(dir.Path).Dispose();
        Assert.Empty(EmbeddedVectorStore.Verify(dir.Path));
        string segment = Directory.GetFiles(dir.Path, "seg-*.evs").OrderBy(f => f).First();
        var bytes = File.ReadAllBytes(segment);
        bytes[4096 + 64 * 4 + 1] ^= 0xFF; // inside the regions after the header and directory
        File.WriteAllBytes(segment, bytes);
        var problems = EmbeddedVectorStore.Verify(dir.Path);
        Assert.NotEmpty(problems);
        Assert.Contains("seg-", string.Join("\n", problems));
    }

    [Fact]
    public void A_torn_log_tail_loses_only_what_no_commit_covered()
    {
        using var dir = new TempStoreDirectory();
        using (var store = EmbeddedVectorStore.Create(dir.Path, Options with { TrainingThreshold = 10_000 }))
        {
            store.AddRange(Enumerable.Range(0, 100).Select(i => (long)i).ToArray(), Vectors(100), Enumerable.Range(0, 100).Select(i => Encoding.UTF8.GetBytes($"p{i}")).ToArray());
            store.Commit();
        }
        // Append garbage past the committed data, as a torn write of a later page would leave.
        string logFile = Directory.GetFiles(Path.Combine(dir.Path, "log"), "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains("commit", StringComparison.OrdinalIgnoreCase)).OrderByDescending(f => new FileInfo(f).Length).First();
        using (var stream = new FileStream(logFile, FileMode.Open))
        {
            stream.Seek(0, SeekOrigin.End);
            stream.Write(Enumerable.Repeat((byte)0xAB, 5000).ToArray());
        }
        using var reopened = EmbeddedVectorStore.Open(dir.Path);
        Assert.Equal(100, reopened.Count);
        Assert.Equal("p99", reopened.Get(99)!.PayloadText);
    }
}
