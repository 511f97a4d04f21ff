using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace EmbeddedVectors.Fuzz;

/// <summary>
/// ev-fuzz: mutation fuzzing of every file reader of EmbeddedVectors (docs/reliability.md).
/// <code>
/// ev-fuzz seed  --corpus DIR [--data DIR]                  build the seed corpus from the public data set
/// ev-fuzz run   --corpus DIR --out DIR [--seed N] [--inputs N] [--minutes N] [--batch N] [--store-batch N] [--work DIR]
///                                                          supervise child processes until N inputs or N minutes
/// ev-fuzz child --corpus DIR --reader I --seed N --from N --count N [--work DIR]     (run by `run`)
/// ev-fuzz replay --corpus DIR --reader I --seed N --index N [--save FILE]            re-run one input, print the outcome
/// ev-fuzz afl-seeds --corpus DIR --out DIR [--max-bytes N] [--per-reader N]        afl-fuzz's starting inputs, one directory a reader
/// ev-fuzz afl   --corpus DIR --reader I [--work DIR]        one reader under afl-fuzz (SharpFuzz; run as `dotnet ev-fuzz.dll afl ...`)
/// ev-fuzz afl-replay --corpus DIR --reader I --input FILE   re-run one AFL input (a crash or hang), print the outcome
/// </code>
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: ev-fuzz seed|run|child|replay|afl-seeds|afl|afl-replay --corpus DIR ... (see Program.cs)");
            return 2;
        }
        var options = ParseOptions(args.AsSpan(1));
        string Option(string name, string? fallback = null) =>
            options.TryGetValue(name, out string? value) ? value : fallback ?? throw new ArgumentException($"--{name} is required.");
        long Number(string name, long fallback) => options.TryGetValue(name, out string? value) ? long.Parse(value, CultureInfo.InvariantCulture) : fallback;
        string work = Option("work", Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath());

        switch (args[0])
        {
            case "seed":
                SeedCorpus.Build(Option("corpus"), SeedCorpus.FindDataDirectory(options.GetValueOrDefault("data")));
                Console.WriteLine($"seed corpus written to {Option("corpus")}");
                return 0;
            case "child":
                return Child(Targets.All(Option("corpus")), work, (int)Number("reader", 0), (int)Number("seed", 1), Number("from", 0), Number("count", 1000));
            case "replay":
                return Replay(Targets.All(Option("corpus")), work, (int)Number("reader", 0), (int)Number("seed", 1), Number("index", 0), options.GetValueOrDefault("save"));
            case "afl-seeds":
                AflHarness.WriteSeeds(Targets.All(Option("corpus")), Option("out"), (int)Number("max-bytes", 64 << 10), (int)Number("per-reader", 4));
                Console.WriteLine($"AFL seeds written to {Option("out")}");
                return 0;
            case "afl":
                return AflHarness.Run(Option("corpus"), work, (int)Number("reader", 0));
            case "afl-replay":
                return AflHarness.Replay(Option("corpus"), work, (int)Number("reader", 0), Option("input"));
            case "run":
                return new Supervisor(Option("corpus"), Option("out"), work, (int)Number("seed", 1))
                {
                    TotalInputs = Number("inputs", 1_000_000),
                    Minutes = Number("minutes", 600),
                    Batch = Number("batch", 20_000),
                    StoreBatch = Number("store-batch", 200),
                }.Run();
            default:
                Console.Error.WriteLine($"unknown command {args[0]}");
                return 2;
        }
    }

    private static Dictionary<string, string> ParseOptions(ReadOnlySpan<string> args)
    {
        var options = new Dictionary<string, string>();
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"expected an --option, got {args[i]}");
            options[args[i][2..]] = args[i + 1];
        }
        return options;
    }

    /// <summary>Runs one batch, printing "start INDEX" before each input, then one JSON line each for the failures and the stats.</summary>
    private static int Child(List<FuzzTarget> targets, string work, int reader, int seed, long from, long count)
    {
        var failures = new List<FuzzFailure>();
        using var runner = new FuzzRunner(work, targets);
        var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
        // Flushed before each input so that the parent knows which input a crash interrupted.
        var stats = runner.RunGuarded(targets[reader], seed, from, count, failures, index =>
        {
            output.Write("start ");
            output.WriteLine(index.ToString(CultureInfo.InvariantCulture));
            output.Flush();
        });
        foreach (var failure in failures) output.WriteLine("failure " + JsonSerializer.Serialize(failure));
        output.WriteLine("stats " + JsonSerializer.Serialize(stats));
        output.Flush();
        // A hung worker thread is left behind: exit without waiting for it.
        if (stats.Hangs > 0) Environment.Exit(3);
        return 0;
    }

    private static int Replay(List<FuzzTarget> targets, string work, int reader, int seed, long index, string? save)
    {
        var target = targets[reader];
        var (file, bytes) = FuzzRunner.Input(target, seed, index);
        Console.WriteLine($"reader {target.Name}, seed file {Targets.Describe(file)}, {bytes.Length} bytes (seed {file.Bytes.Length})");
        if (save != null) File.WriteAllBytes(save, bytes);
        var failures = new List<FuzzFailure>();
        using var runner = new FuzzRunner(work, targets);
        var stopwatch = Stopwatch.StartNew();
        var stats = runner.RunGuarded(target, seed, index, 1, failures);
        Console.WriteLine($"{stopwatch.Elapsed.TotalMilliseconds:F1} ms, accepted {stats.Accepted}, rejected {stats.Rejected}, allocated {stats.MostAllocatedBytes:N0} bytes");
        foreach (var failure in failures) Console.WriteLine($"{failure.Kind}: {failure.Detail}");
        return failures.Count == 0 ? 0 : 1;
    }
}
