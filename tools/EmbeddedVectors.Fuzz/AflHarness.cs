using System.Globalization;
using SharpFuzz;

namespace EmbeddedVectors.Fuzz;

/// <summary>An input the outcome rules of <see cref="FuzzRunner.RunInput"/> do not allow: SharpFuzz reports it to afl-fuzz as a crash.</summary>
internal sealed class FuzzFailureException(string reader, string kind, string detail)
    : Exception($"{reader}: {kind}: {detail}");

/// <summary>
/// The coverage-guided entry point: one reader of <see cref="Targets.All"/> under afl-fuzz through SharpFuzz
/// (tools/fuzz/afl.sh runs it; docs/reliability.md). The reader, its seed files and what an input may do are the
/// ones of the mutation loop; only where the bytes come from differs.
/// </summary>
/// <remarks>
/// An AFL input is one byte that picks the seed file it stands in for (bits 0–6: its index among the reader's
/// seeds in <see cref="SeedOrder"/>, modulo their count) and whether to recompute the file's checksums before
/// the reader sees it (bit 7, <see cref="FileKinds.Resign"/>: without it almost every mutation would stop at a
/// checksum), followed by the file's bytes.
/// </remarks>
internal static class AflHarness
{
    private const byte ResignBit = 0x80;

    /// <summary>The reader's seeds in a stable order (by store and path), so that an input's first byte means the same seed in every corpus built by <c>ev-fuzz seed</c>.</summary>
    public static List<SeedFile> SeedOrder(FuzzTarget target)
    {
        var seeds = new List<SeedFile>(target.Seeds);
        seeds.Sort((a, b) => string.CompareOrdinal(Targets.Describe(a), Targets.Describe(b)));
        return seeds;
    }

    /// <summary>
    /// Writes afl-fuzz's starting inputs for every reader to <c>OUT/NN/</c> (NN the reader's index) and the list
    /// of readers to <c>OUT/readers.tsv</c> (index, name, seed count): each reader's seeds of at most
    /// <paramref name="maxBytes"/> bytes (AFL mutates small inputs best and refuses inputs over 1 MB), or its one
    /// smallest seed when none is that small, at most <paramref name="perReader"/> of them, checksums on.
    /// </summary>
    public static void WriteSeeds(List<FuzzTarget> targets, string outDirectory, int maxBytes, int perReader)
    {
        Directory.CreateDirectory(outDirectory);
        using var list = new StreamWriter(Path.Combine(outDirectory, "readers.tsv"));
        for (int t = 0; t < targets.Count; t++)
        {
            var seeds = SeedOrder(targets[t]);
            var chosen = new List<int>();
            int smallest = 0;
            for (int s = 0; s < seeds.Count; s++)
            {
                if (seeds[s].Bytes.Length < seeds[smallest].Bytes.Length) smallest = s;
                if (seeds[s].Bytes.Length <= maxBytes && chosen.Count < perReader && !SameBytesAsChosen(seeds, chosen, s)) chosen.Add(s);
            }
            if (chosen.Count == 0) chosen.Add(smallest);
            string directory = Path.Combine(outDirectory, t.ToString("D2", CultureInfo.InvariantCulture));
            Directory.CreateDirectory(directory);
            foreach (int s in chosen)
            {
                byte[] input = new byte[seeds[s].Bytes.Length + 1];
                input[0] = (byte)(ResignBit | s);
                seeds[s].Bytes.CopyTo(input, 1);
                File.WriteAllBytes(Path.Combine(directory, $"seed-{s:D2}-{Path.GetFileName(seeds[s].RelativePath)}"), input);
            }
            list.WriteLine($"{t}\t{targets[t].Name}\t{chosen.Count}");
        }
    }

    private static bool SameBytesAsChosen(List<SeedFile> seeds, List<int> chosen, int candidate)
    {
        foreach (int c in chosen)
            if (seeds[c].Bytes.AsSpan().SequenceEqual(seeds[candidate].Bytes)) return true;
        return false;
    }

    /// <summary>The seed file an AFL input stands in for and the bytes the reader gets.</summary>
    public static (SeedFile Seed, byte[] Bytes) Decode(FuzzTarget target, List<SeedFile> seedOrder, ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty) return (seedOrder[0], []);
        var seed = seedOrder[(input[0] & ~ResignBit) % seedOrder.Count];
        byte[] bytes = input[1..].ToArray();
        if ((input[0] & ResignBit) != 0 && FileKinds.HasChecksums(seed.Kind)) FileKinds.Resign(seed.Kind, bytes);
        return (seed, bytes);
    }

    /// <summary>
    /// Runs reader <paramref name="reader"/> under afl-fuzz: SharpFuzz's out-of-process server, which restarts the
    /// child after an input killed it or timed out. Outside afl-fuzz it runs the one input on standard input.
    /// </summary>
    public static unsafe int Run(string corpus, string work, int reader)
    {
        // Instrumented code writes to a coverage map from its first line (loading the targets runs some), and
        // SharpFuzz sets afl-fuzz's map only in Run: until then it writes to a scratch map, never freed.
        SharpFuzz.Common.Trace.SharedMem = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(1 << 16);
        var targets = Targets.All(corpus);
        var target = targets[reader];
        var order = SeedOrder(target);
        using var runner = new FuzzRunner(work, targets);
        // Run every seed once before fuzzing: the allocation baselines, the work copies, static constructors and
        // first-call paths happen here, not in whichever input comes first, so that an input's edges depend on the
        // input alone (AFL's stability).
        foreach (var seed in order) runner.RunInput(target, seed, seed.Bytes);
        SharpFuzz.Common.Trace.PrevLocation = 0;
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            RunOne(runner, target, order, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        });
        return 0;
    }

    /// <summary>Runs one saved AFL input (a crash or a hang from afl-fuzz's output) and prints its outcome; 1 when it fails.</summary>
    public static int Replay(string corpus, string work, int reader, string inputPath)
    {
        var targets = Targets.All(corpus);
        var target = targets[reader];
        byte[] input = File.ReadAllBytes(inputPath);
        var (seed, bytes) = Decode(target, SeedOrder(target), input);
        Console.WriteLine($"reader {target.Name}, seed file {Targets.Describe(seed)}, {bytes.Length} bytes (seed {seed.Bytes.Length}), checksums {((input.Length > 0 && (input[0] & ResignBit) != 0) ? "recomputed" : "as given")}");
        using var runner = new FuzzRunner(work, targets);
        try
        {
            RunOne(runner, target, SeedOrder(target), input);
            Console.WriteLine("allowed outcome");
            return 0;
        }
        catch (FuzzFailureException e)
        {
            Console.WriteLine(e.Message);
            return 1;
        }
    }

    /// <summary>Runs one AFL input; an outcome the rules do not allow throws <see cref="FuzzFailureException"/> (a crash to afl-fuzz).</summary>
    internal static void RunOne(FuzzRunner runner, FuzzTarget target, List<SeedFile> order, ReadOnlySpan<byte> input)
    {
        var (seed, bytes) = Decode(target, order, input);
        var outcome = runner.RunInput(target, seed, bytes);
        if (outcome.FailureKind != null) throw new FuzzFailureException(target.Name, outcome.FailureKind, outcome.Failure!);
    }
}
