using System.Buffers.Binary;
using System.Diagnostics;
using System.Text.Json;
using EmbeddedVectors.Fuzz;
using EmbeddedVectors.IO;
using EmbeddedVectors.Storage;
using EmbeddedVectors.Tests.Cli;
using EmbeddedVectors.Tests.Store;

namespace EmbeddedVectors.Tests.Trust;

/// <summary>
/// The fixed-seed fuzz pass of CI (tools/EmbeddedVectors.Fuzz in process: every reader, 20,000+ mutated inputs from
/// a seed corpus built from the public data) and one regression test per bug the fuzzer found, each on the
/// minimised input made in code.
/// </summary>
public sealed class FuzzTests
{
    /// <summary>Inputs per file reader and per store-level reader: 13 × 1,500 + 4 × 150 = 20,100.</summary>
    private const int FileReaderInputs = 1_500, StoreReaderInputs = 150;

    [Fact]
    public void A_fixed_seed_pass_over_every_reader_has_no_crash_hang_wrong_exception_or_oversized_allocation()
    {
        string corpus = Path.Combine(Path.GetTempPath(), "ev-fuzz-corpus-" + Guid.NewGuid().ToString("N"));
        try
        {
            SeedCorpus.Build(corpus, Path.GetDirectoryName(TestData.RequireSharedData("base.fvecs"))!);
            var targets = Targets.All(corpus);
            Assert.Equal(17, targets.Count);
            var failures = new List<FuzzFailure>();
            long inputs = 0;
            var clock = Stopwatch.StartNew();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            using (var runner = new FuzzRunner(Path.GetTempPath(), targets))
            {
                foreach (var target in targets)
                {
                    Assert.NotEmpty(target.Seeds);
                    var stats = runner.RunGuarded(target, seed: 20261129, from: 0, target.StoreLevel ? StoreReaderInputs : FileReaderInputs, failures);
                    inputs += stats.Inputs;
                    // Both outcomes occur for every reader: the mutations reach past the first check, and break things.
                    Assert.True(stats.Accepted > 0 && stats.Rejected > 0, $"{target.Name}: accepted {stats.Accepted}, rejected {stats.Rejected}");
                }
            }
            Assert.True(failures.Count == 0, string.Join("\n\n", failures.Select(f => $"{f.Reader} index {f.Index}: {f.Kind}: {f.Detail}")));
            Assert.True(inputs >= 20_000, $"{inputs} inputs");
            Console.WriteLine($"fuzz pass: {inputs} inputs in {clock.Elapsed.TotalSeconds:F1} s ({(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds:F1} s of CPU)");
        }
        finally
        {
            try { Directory.Delete(corpus, recursive: true); }
            catch (IOException) { }
        }
    }

    private static EmbeddedVectorStoreOptions SmallStore => new() { Dimension = 8, NList = 4, M = 4, TrainingThreshold = 256, MergeFactor = 0 };

    /// <summary>A trained store with entries sealed and 50 more only in the log (committed); returns how many entries it has.</summary>
    private static int BuildStore(string path)
    {
        using var store = EmbeddedVectorStore.Create(path, SmallStore);
        return BuildStoreEntries(store);
    }

    private static int BuildStoreEntries(EmbeddedVectorStore store)
    {
        var random = new Random(7);
        var vector = new float[8];
        for (int i = 0; i < 350; i++)
        {
            for (int j = 0; j < 8; j++) vector[j] = (float)random.NextDouble();
            store.Add(i, vector, $"{{\"i\":{i}}}");
            if (i == 299) store.Flush();
        }
        store.Commit();
        return 350;
    }

    [Fact]
    public void A_quantizer_file_with_a_NaN_centroid_and_a_matching_checksum_is_a_corrupt_file()
    {
        using var dir = new TempStoreDirectory();
        BuildStore(dir.Path);
        string path = Path.Combine(dir.Path, QuantizerFile.FileName);
        byte[] file = File.ReadAllBytes(path);
        var layout = QuantizerFile.Layout;
        BinaryPrimitives.WriteSingleLittleEndian(file.AsSpan(layout.HeaderSize + 4), float.NaN);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(layout.BodyChecksumOffset), FileHeaders.Checksum(file.AsSpan(layout.HeaderSize)));
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(layout.HeaderChecksumOffset), FileHeaders.Checksum(file.AsSpan(0, layout.HeaderChecksumOffset)));
        File.WriteAllBytes(path, file);

        var e = Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path, new EmbeddedVectorStoreOptions { ReadOnly = true }));
        Assert.Equal(path, e.FilePath);
        Assert.Contains("NaN", e.Message);
    }

    private static string CommitFile(string store) => Directory.GetFiles(Path.Combine(store, "log", "log-commits")).Single();

    [Theory]
    [InlineData(0x7FFF_FFF0, "claims 2147483632 bytes")] // the length FASTER sized a 2 GiB read by
    [InlineData(-8, "claims -8 bytes")]
    public void A_commit_file_whose_length_field_is_damaged_fails_the_open_without_a_large_allocation(int length, string expected)
    {
        using var dir = new TempStoreDirectory();
        BuildStore(dir.Path);
        string commit = CommitFile(dir.Path);
        byte[] file = File.ReadAllBytes(commit);
        BinaryPrimitives.WriteInt32LittleEndian(file, length);
        File.WriteAllBytes(commit, file);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20, "the open allocated more than 64 MiB");
        Assert.Equal(commit, e.FilePath);
        Assert.Contains(expected, e.Message);
    }

    /// <summary>Rewrites a field of the commit record and its checksum, as a damaged file that still checks would have it.</summary>
    private static void RewriteCommitRecord(string commit, int offset, long value, bool wide)
    {
        byte[] file = File.ReadAllBytes(commit);
        var record = file.AsSpan(4);
        if (wide) BinaryPrimitives.WriteInt64LittleEndian(record[offset..], value);
        else BinaryPrimitives.WriteInt32LittleEndian(record[offset..], (int)value);
        long checksum = BinaryPrimitives.ReadInt64LittleEndian(record[12..]) ^ BinaryPrimitives.ReadInt64LittleEndian(record[20..])
            ^ BinaryPrimitives.ReadInt64LittleEndian(record[28..]) ^ BinaryPrimitives.ReadInt32LittleEndian(record[36..]) ^ BinaryPrimitives.ReadInt32LittleEndian(record[40..]);
        BinaryPrimitives.WriteInt64LittleEndian(record[4..], checksum);
        File.WriteAllBytes(commit, file);
    }

    [Theory]
    [InlineData(36, 0x1E7D_8BEB, false, "iterators")] // FASTER threw NullReferenceException or OutOfMemoryException parsing it
    [InlineData(40, 0x7FFF_0000, false, "cookie")]
    [InlineData(20, 1L << 40, true, "past the end of its segment file")] // until address: FASTER opened it and Verify hung
    [InlineData(12, 1L << 40, true, "begin address")] // begin address past the until address
    public void A_commit_record_that_checks_but_does_not_hold_together_fails_the_open(int offset, long value, bool wide, string expected)
    {
        using var dir = new TempStoreDirectory();
        BuildStore(dir.Path);
        string commit = CommitFile(dir.Path);
        RewriteCommitRecord(commit, offset, value, wide);

        foreach (bool readOnly in new[] { true, false })
        {
            var e = Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path, new EmbeddedVectorStoreOptions { ReadOnly = readOnly }));
            Assert.Equal(commit, e.FilePath);
            Assert.Contains(expected, e.Message);
        }
    }

    [Fact]
    public void A_deletion_file_or_segment_file_the_manifest_names_but_that_is_missing_is_a_corrupt_file()
    {
        // Found with a mutated MANIFEST naming deletions version 1 of a segment that had none: FileNotFoundException.
        using var dir = new TempStoreDirectory();
        using (var store = EmbeddedVectorStore.Create(dir.Path, SmallStore))
        {
            BuildStoreEntries(store);
            store.Delete(7);
            store.Flush();
        }
        string deletions = Directory.GetFiles(dir.Path, "seg-*.del-*").Single();
        File.Move(deletions, deletions + ".gone");
        var e = Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path, new EmbeddedVectorStoreOptions { ReadOnly = true }));
        Assert.Equal(deletions, e.FilePath);
        Assert.Contains("missing", e.Problem);

        File.Move(deletions + ".gone", deletions);
        string codes = Directory.GetFiles(dir.Path, "seg-*.evs").First();
        File.Delete(codes);
        e = Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path, new EmbeddedVectorStoreOptions { ReadOnly = true }));
        Assert.Equal(codes, e.FilePath);
    }

    /// <summary>The manifest with the damage <paramref name="what"/> names, each one afl-fuzz found or a neighbour of it.</summary>
    private static Manifest Damage(string what, Manifest m) => what switch
    {
        // Found by afl-fuzz (tools/fuzz/afl.sh, "MANIFEST (store open + verify)"): minimised, the manifest's field
        // entries had lost their "name" and "type" keys; the log replay then indexed an empty column
        // (IndexOutOfRangeException in FieldColumns).
        "field without a type" => m with { Fields = [m.Fields[0], new FieldDefinition("size", 0)] },
        "field without a name" => m with { Fields = [new FieldDefinition(null!, FieldType.Long)] },
        "field declared twice" => m with { Fields = [m.Fields[0], m.Fields[0]] },
        // Found by afl-fuzz: "m": 1 in a pq4fs store failed in Segment.Open with ArgumentOutOfRangeException.
        "odd m for pq4fs" => m with { M = 1 },
        _ => throw new ArgumentOutOfRangeException(nameof(what)),
    };

    [Theory]
    [InlineData("field without a type", "unknown type")]
    [InlineData("field without a name", "not a valid field name")]
    [InlineData("field declared twice", "declared twice")]
    [InlineData("odd m for pq4fs", "must be even")]
    public void A_manifest_whose_shape_or_fields_are_invalid_is_a_corrupt_MANIFEST(string what, string expected)
    {
        using var dir = new TempStoreDirectory();
        var options = new EmbeddedVectorStoreOptions
        {
            Dimension = 8, NList = 4, M = 4, TrainingThreshold = 256, MergeFactor = 0,
            Fields = [new("section", FieldType.String), new("size", FieldType.Long)],
            Codes = what.Contains("pq4fs", StringComparison.Ordinal) ? VectorCodes.Pq4FastScan : VectorCodes.Pq8,
        };
        using (var store = EmbeddedVectorStore.Create(dir.Path, options))
        {
            var vector = new float[8];
            var random = new Random(3);
            for (int i = 0; i < 300; i++)
            {
                for (int j = 0; j < 8; j++) vector[j] = (float)random.NextDouble();
                store.Add(i, vector, "{}"u8, new FieldValues().Set("section", "s").Set("size", (long)i));
                if (i == 279) store.Flush(); // a segment, and entries only in the log (replayed with their fields at open)
            }
            store.Commit();
        }
        Damage(what, Manifest.Read(dir.Path)).Write(dir.Path); // a well-formed file with valid checksums

        var e = Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path, new EmbeddedVectorStoreOptions { ReadOnly = true }));
        Assert.Equal(Path.Combine(dir.Path, Manifest.FileName), e.FilePath);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_commit_file_of_zeros_is_a_commit_that_never_completed_not_damage()
    {
        // What a crash or a full disk leaves: the file created, its sector never written.
        using var dir = new TempStoreDirectory();
        using (var store = EmbeddedVectorStore.Create(dir.Path, SmallStore))
        {
            store.Add(1, new float[8], "only in the log");
            store.Commit();
        }
        string commit = CommitFile(dir.Path);
        File.WriteAllBytes(commit, new byte[new FileInfo(commit).Length]);
        using var reopened = EmbeddedVectorStore.Open(dir.Path);
        Assert.Equal(0, reopened.Count); // nothing committed survives, as before the check: the only commit is gone
    }
}

/// <summary>The `ev add` payload-file bug the fuzzer found.</summary>
[Collection("Console")]
public sealed class FuzzCliTests(CliSample sample) : IClassFixture<CliSample>
{
    [Fact]
    public void A_payload_line_that_is_not_UTF8_is_named_and_nothing_is_added()
    {
        string store = sample.File("fuzz-utf8");
        var created = Ev.Run("create", store, "--dim", $"{sample.Dimension}", "--nlist", "16", "--field", "section:string");
        Assert.True(created.ExitCode == 0, created.ToString());
        string vectors = sample.File("fuzz-two.fvecs");
        VectorFile.WriteFvecs(vectors, sample.Vectors.AsSpan(0, 2 * sample.Dimension), sample.Dimension);
        string payloads = sample.File("fuzz-not-utf8.jsonl");
        // Line 2's string holds 0xFB, which starts no UTF-8 sequence; System.Text.Json threw InvalidOperationException reading it.
        File.WriteAllBytes(payloads, [.. "{\"section\": \"ok\"}\n{\"section\": \"a"u8, 0xFB, .. "b\"}\n"u8]);
        Ev.AssertFails(Ev.Run("add", store, "--vectors", vectors, "--payloads", payloads), "line 2", "UTF-8");
        using var info = JsonDocument.Parse(Ev.Run("info", store, "--json").Out);
        Assert.Equal(0, info.RootElement.GetProperty("count").GetInt64());
    }
}
