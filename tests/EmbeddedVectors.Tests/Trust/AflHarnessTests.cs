using System.Buffers.Binary;
using EmbeddedVectors.Fuzz;
using EmbeddedVectors.Storage;
using EmbeddedVectors.Tests.Store;

namespace EmbeddedVectors.Tests.Trust;

/// <summary>
/// The afl-fuzz entry point of ev-fuzz (tools/EmbeddedVectors.Fuzz/AflHarness.cs), without afl-fuzz: how an input
/// picks its seed file and its checksums, which starting inputs it writes, and that an outcome the mutation loop's
/// rules refuse is an exception (what SharpFuzz reports to afl-fuzz as a crash) while the allowed ones are not.
/// </summary>
public sealed class AflHarnessTests
{
    /// <summary>A deletion file's bytes: the 64-byte header, then <paramref name="bodyBytes"/> bitmap bytes.</summary>
    private static byte[] DeletionFile(int bodyBytes, byte fill)
    {
        var file = new byte[DeletionBitmap.HeaderSize + bodyBytes];
        file.AsSpan(DeletionBitmap.HeaderSize).Fill(fill);
        return file;
    }

    private static FuzzTarget Target(string root, Action<string, SeedFile> execute, params (string Name, byte[] Bytes)[] files) =>
        Target("test reader", root, execute, files);

    private static FuzzTarget Target(string reader, string root, Action<string, SeedFile> execute, params (string Name, byte[] Bytes)[] files)
    {
        Directory.CreateDirectory(root);
        var seeds = new List<SeedFile>();
        foreach (var (name, bytes) in files)
        {
            File.WriteAllBytes(Path.Combine(root, name), bytes);
            seeds.Add(new SeedFile(root, name, FileKind.Deletions, bytes));
        }
        return new FuzzTarget(reader, seeds, execute, storeLevel: false);
    }

    [Fact]
    public void The_first_byte_picks_the_seed_and_whether_the_checksums_are_recomputed()
    {
        using var dir = new TempStoreDirectory();
        // Listed out of order: the harness orders seeds by path, so that a byte means the same seed in every corpus.
        var target = Target(dir.Path, (_, _) => { }, ("seg-000002.del-000001", DeletionFile(8, 2)), ("seg-000001.del-000001", DeletionFile(8, 1)));
        var order = AflHarness.SeedOrder(target);
        Assert.Equal(["seg-000001.del-000001", "seg-000002.del-000001"], order.Select(s => s.RelativePath));

        byte[] body = DeletionFile(16, 0xAB);
        var (seed, bytes) = AflHarness.Decode(target, order, [0x03, .. body]); // 3 mod 2 = seed 1, checksums as given
        Assert.Same(order[1], seed);
        Assert.Equal(body, bytes);

        (seed, bytes) = AflHarness.Decode(target, order, [0x80, .. body]); // seed 0, checksums recomputed
        Assert.Same(order[0], seed);
        Assert.Equal(FileHeaders.Checksum(body.AsSpan(DeletionBitmap.HeaderSize)), BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(DeletionBitmap.BitmapChecksumOffset)));
        Assert.Equal(FileHeaders.Checksum(bytes.AsSpan(0, DeletionBitmap.HeaderChecksumOffset)), BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(DeletionBitmap.HeaderChecksumOffset)));

        (seed, bytes) = AflHarness.Decode(target, order, []);
        Assert.Same(order[0], seed);
        Assert.Empty(bytes);
    }

    [Fact]
    public void The_starting_inputs_are_the_small_seeds_of_each_reader_or_its_smallest_one()
    {
        using var dir = new TempStoreDirectory();
        var small = Target(Path.Combine(dir.Path, "a"), (_, _) => { },
            ("seg-000001.del-000001", DeletionFile(100, 1)), ("seg-000002.del-000001", DeletionFile(5000, 2)), ("seg-000003.del-000001", DeletionFile(200, 3)));
        var large = Target(Path.Combine(dir.Path, "b"), (_, _) => { }, ("seg-000001.del-000001", DeletionFile(9000, 4)), ("seg-000002.del-000001", DeletionFile(3000, 5)));
        string seeds = Path.Combine(dir.Path, "seeds");

        AflHarness.WriteSeeds([small, large], seeds, maxBytes: 1000, perReader: 4);

        Assert.Equal(["0\ttest reader\t2", "1\ttest reader\t1"], File.ReadAllLines(Path.Combine(seeds, "readers.tsv")));
        var first = Directory.GetFiles(Path.Combine(seeds, "00")).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList();
        Assert.Equal(2, first.Count);
        Assert.Equal([0x80, .. DeletionFile(100, 1)], first[0]); // seed 0, checksums on, then the file
        Assert.Equal([0x82, .. DeletionFile(200, 3)], first[1]);
        var second = Directory.GetFiles(Path.Combine(seeds, "01")).Select(File.ReadAllBytes).Single();
        Assert.Equal([0x81, .. DeletionFile(3000, 5)], second); // none under the limit: the smallest
    }

    [Fact]
    public void Only_an_outcome_the_rules_refuse_is_an_exception()
    {
        using var dir = new TempStoreDirectory();
        string root = Path.Combine(dir.Path, "store");
        var seed = ("seg-000001.del-000001", DeletionFile(8, 1));
        // Each reader accepts the unmutated seed (the runner measures its allocations first) and does what it is
        // named for when the bitmap's first byte is 9, as in the input below.
        Action<string, SeedFile> When9(Func<string, SeedFile, Exception> error) => (at, file) =>
        {
            if (File.ReadAllBytes(Path.Combine(at, file.RelativePath))[DeletionBitmap.HeaderSize] == 9) throw error(at, file);
        };
        var accepts = Target("accepts", root, (_, _) => { }, seed);
        var documented = Target("documented", root, When9((at, file) => new CorruptFileException(Path.Combine(at, file.RelativePath), "damaged")), seed);
        var namesNoFile = Target("names no file", root, When9((_, _) => new CorruptFileException("/elsewhere/file", "damaged")), seed);
        var wrongException = Target("wrong exception", root, When9((_, _) => new IndexOutOfRangeException()), seed);
        using var runner = new FuzzRunner(dir.Path, [accepts]);
        byte[] input = [0x00, .. DeletionFile(8, 9)];

        AflHarness.RunOne(runner, accepts, AflHarness.SeedOrder(accepts), input);
        AflHarness.RunOne(runner, documented, AflHarness.SeedOrder(documented), input);
        var e = Assert.Throws<FuzzFailureException>(() => AflHarness.RunOne(runner, namesNoFile, AflHarness.SeedOrder(namesNoFile), input));
        Assert.Contains("exception", e.Message);
        e = Assert.Throws<FuzzFailureException>(() => AflHarness.RunOne(runner, wrongException, AflHarness.SeedOrder(wrongException), input));
        Assert.Contains("IndexOutOfRangeException", e.Message);
        // The work copy holds the seed again after each input.
        var workFile = Directory.GetFiles(dir.Path, "seg-000001.del-000001", SearchOption.AllDirectories).Single(f => !f.StartsWith(root + "/", StringComparison.Ordinal));
        Assert.Equal(DeletionFile(8, 1), File.ReadAllBytes(workFile));
    }
}
