using System.CommandLine;
using System.Diagnostics;
using EmbeddedVectors.Storage;
using EmbeddedVectors.Tools;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Benchmarks.Store;

/// <summary>
/// <c>store open --dir DIR[,DIR2…]</c>: times <see cref="EmbeddedVectorStore.Open"/> and <see cref="EmbeddedVectorStore.Dispose"/>,
/// read-only and writable, <c>--reps</c> times each after one warm-up (warm page cache). With several stores the
/// repetitions are interleaved (A, B, A, B, …), so that a busy machine slows them alike. <c>--gc-before</c> runs a
/// full GC before each timed open, so that collecting the previous open's garbage (its 50 MB of tables) is not timed. A breakdown then times
/// the parts of an open the store does one by one (manifest, quantizer file, precomputed tables, segments), so the
/// remainder is the payload log (FASTER recovery and replay).
/// </summary>
internal sealed class OpenCommand : StoreBenchCommand
{
    private readonly Option<string?> _dir = StoreBench.Options.Required("dir", "The store, or several separated by commas.", "DIR[,DIR2...]");
    private readonly Option<int> _reps = StoreBench.Options.Int("reps", "Timed opens of each store and mode.", 20, min: 1);
    private readonly Option<bool> _gcBefore = OptionBuilder.Flag("gc-before", "Run a full GC before each timed open.");

    public OpenCommand()
        : base("open", "times Open + Dispose, read-only and writable, after one warm-up (several stores: interleaved)", withData: false)
    {
        foreach (var option in new Option[] { _dir, _reps, _gcBefore }) Add(option);
    }

    private const long MaxPrecomputedTableBytes = 256L << 20; // as EmbeddedVectorStore

    protected override BenchOutput Execute(ParseResult args)
    {
        string[] directories = args.GetValue(_dir)!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Path.GetFullPath).ToArray();
        int reps = args.GetValue(_reps);
        bool gcBefore = args.GetValue(_gcBefore);

        var output = new BenchOutput("open");
        output.Parameters["dir"] = string.Join(",", directories);
        output.Parameters["reps"] = reps;
        output.Parameters["gc_before"] = gcBefore;
        var table = output.Table("Open and Dispose (ms, warm page cache; stores interleaved rep by rep)", "store", "mode", "count", "segments",
            "bytes on disk", "open median", "open min", "open max", "dispose median", "dispose min", "dispose max");
        foreach (bool readOnly in new[] { true, false })
        {
            var options = new EmbeddedVectorStoreOptions { ReadOnly = readOnly };
            var infos = directories.Select(d => { using var warm = EmbeddedVectorStore.Open(d, options); return warm.GetInfo(); }).ToArray();
            var opens = directories.Select(_ => new List<double>()).ToArray();
            var disposes = directories.Select(_ => new List<double>()).ToArray();
            for (int r = 0; r < reps; r++)
            {
                for (int i = 0; i < directories.Length; i++)
                {
                    if (gcBefore)
                    {
                        // Each open allocates the precomputed tables afresh; collect the last one's first, outside the timing.
                        GC.Collect();
                        GC.WaitForPendingFinalizers();
                    }
                    long start = Stopwatch.GetTimestamp();
                    var store = EmbeddedVectorStore.Open(directories[i], options);
                    long opened = Stopwatch.GetTimestamp();
                    store.Dispose();
                    long disposed = Stopwatch.GetTimestamp();
                    opens[i].Add(Stats.Ms(opened - start));
                    disposes[i].Add(Stats.Ms(disposed - opened));
                }
            }
            for (int i = 0; i < directories.Length; i++)
            {
                table.Add(Path.GetFileName(directories[i]), readOnly ? "read-only" : "writable", infos[i].Count, infos[i].Segments, infos[i].BytesOnDisk,
                    Stats.Median(opens[i]), opens[i].Min(), opens[i].Max(), Stats.Median(disposes[i]), disposes[i].Min(), disposes[i].Max());
            }
        }
        foreach (string directory in directories) Breakdown(output, directory, reps);
        return output;
    }

    /// <summary>Times the pieces of an open separately (median over <paramref name="reps"/>).</summary>
    private static void Breakdown(BenchOutput output, string directory, int reps)
    {
        var parts = new Dictionary<string, List<double>>
        {
            ["Manifest.Read"] = [],
            ["QuantizerFile.Read"] = [],
            ["IvfPqQuantizer (precomputed tables)"] = [],
            ["Segment.Open + Dispose, all segments"] = [],
        };
        for (int r = 0; r <= reps; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            var manifest = Manifest.Read(directory);
            long t1 = Stopwatch.GetTimestamp();
            var (coarse, pq) = QuantizerFile.Read(directory, manifest);
            long t2 = Stopwatch.GetTimestamp();
            _ = new IvfPqQuantizer(coarse, pq, MaxPrecomputedTableBytes);
            long t3 = Stopwatch.GetTimestamp();
            foreach (var entry in manifest.Segments) Segment.Open(directory, entry.Number, manifest.Shape).Dispose();
            long t4 = Stopwatch.GetTimestamp();
            if (r == 0) continue; // warm-up
            parts["Manifest.Read"].Add(Stats.Ms(t1 - t0));
            parts["QuantizerFile.Read"].Add(Stats.Ms(t2 - t1));
            parts["IvfPqQuantizer (precomputed tables)"].Add(Stats.Ms(t3 - t2));
            parts["Segment.Open + Dispose, all segments"].Add(Stats.Ms(t4 - t3));
        }
        var table = output.Table($"Open breakdown of {Path.GetFileName(directory)} (ms; the rest of an open is the payload log)", "part", "median", "min", "max");
        foreach (var (name, values) in parts) table.Add(name, Stats.Median(values), values.Min(), values.Max());
    }
}
