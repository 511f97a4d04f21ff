using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace EmbeddedVectors.Fuzz;

/// <summary>
/// The parent of a recorded run: runs the readers in turn, each batch in a child process (so a crash or an
/// out-of-mapping read kills only the child and the input it was on is known), saves every failing input with
/// its description under <c>OUT/failures</c>, and writes the per-reader table to <c>OUT/summary.md</c> after each
/// batch.
/// </summary>
internal sealed class Supervisor(string corpus, string outDirectory, string work, int seed)
{
    private readonly List<FuzzTarget> _targets = Targets.All(corpus);

    /// <summary>Stop after this many inputs in all.</summary>
    public long TotalInputs { get; init; }

    /// <summary>Stop after this many minutes.</summary>
    public long Minutes { get; init; }

    /// <summary>Inputs a child runs for a file reader.</summary>
    public long Batch { get; init; }

    /// <summary>Inputs a child runs for a store-level reader (each opens a store).</summary>
    public long StoreBatch { get; init; }

    public int Run()
    {
        Directory.CreateDirectory(Path.Combine(outDirectory, "failures"));
        var totals = new ReaderStats[_targets.Count];
        var next = new long[_targets.Count];
        for (int t = 0; t < totals.Length; t++) totals[t] = new ReaderStats(_targets[t].Name);
        var clock = Stopwatch.StartNew();
        long all = 0;
        int problems = 0;
        while (all < TotalInputs && clock.Elapsed.TotalMinutes < Minutes)
        {
            for (int t = 0; t < _targets.Count && all < TotalInputs && clock.Elapsed.TotalMinutes < Minutes; t++)
            {
                long count = Math.Min(_targets[t].StoreLevel ? StoreBatch : Batch, TotalInputs - all);
                var (stats, failures, resumeAt) = RunChild(t, next[t], count);
                next[t] = resumeAt;
                Add(totals[t], stats);
                all += stats.Inputs;
                foreach (var failure in failures) { Save(t, failure); problems++; }
                WriteSummary(totals, clock.Elapsed, all);
            }
        }
        Console.WriteLine(File.ReadAllText(Path.Combine(outDirectory, "summary.md")));
        return problems == 0 ? 0 : 1;
    }

    /// <summary>Runs inputs from <paramref name="from"/> in a child; returns its stats and failures and the index to go on from.</summary>
    private (ReaderStats Stats, List<FuzzFailure> Failures, long ResumeAt) RunChild(int target, long from, long count)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("No process path.");
        var start = new ProcessStartInfo(self)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        if (self.EndsWith("dotnet", StringComparison.Ordinal)) start.ArgumentList.Add(typeof(Program).Assembly.Location);
        foreach (string arg in (string[])["child", "--corpus", corpus, "--work", work, "--reader", target.ToString(CultureInfo.InvariantCulture),
                     "--seed", seed.ToString(CultureInfo.InvariantCulture), "--from", from.ToString(CultureInfo.InvariantCulture), "--count", count.ToString(CultureInfo.InvariantCulture)])
            start.ArgumentList.Add(arg);
        using var child = Process.Start(start) ?? throw new InvalidOperationException("Could not start a child.");
        var stderr = new StringBuilder();
        child.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (stderr) if (stderr.Length < 20_000) stderr.AppendLine(e.Data); };
        child.BeginErrorReadLine();
        long lastStarted = from - 1;
        ReaderStats? stats = null;
        var failures = new List<FuzzFailure>();
        var lastOutput = Stopwatch.StartNew();
        var reading = Task.Run(() =>
        {
            while (child.StandardOutput.ReadLine() is { } line)
            {
                lastOutput.Restart();
                if (line.StartsWith("start ", StringComparison.Ordinal)) lastStarted = long.Parse(line.AsSpan(6), CultureInfo.InvariantCulture);
                else if (line.StartsWith("failure ", StringComparison.Ordinal)) failures.Add(JsonSerializer.Deserialize<FuzzFailure>(line[8..])!);
                else if (line.StartsWith("stats ", StringComparison.Ordinal)) stats = JsonSerializer.Deserialize<ReaderStats>(line[6..]);
            }
        });
        // The child's own watchdog reports a hang after 10 s; this one catches a child that cannot even do that.
        while (!reading.Wait(1000))
        {
            if (lastOutput.Elapsed.TotalSeconds > 120)
            {
                child.Kill(entireProcessTree: true);
                break;
            }
        }
        child.WaitForExit();
        reading.Wait(5000);
        if (stats != null) return (stats, failures, from + count);
        // The child died on input lastStarted: a crash (or an external kill). Count the inputs before it as run.
        long crashed = Math.Max(lastStarted, from);
        var partial = new ReaderStats(_targets[target].Name) { Inputs = crashed - from + 1, Failures = 1 };
        string detail;
        lock (stderr) detail = $"exit code {child.ExitCode}; stderr: {stderr}";
        failures.Add(new FuzzFailure(_targets[target].Name, seed, crashed, "crash", detail));
        return (partial, failures, crashed + 1);
    }

    private static void Add(ReaderStats total, ReaderStats batch)
    {
        total.Inputs += batch.Inputs;
        total.Accepted += batch.Accepted;
        total.Rejected += batch.Rejected;
        total.Failures += batch.Failures;
        total.Hangs += batch.Hangs;
        total.MostAllocatedBytes = Math.Max(total.MostAllocatedBytes, batch.MostAllocatedBytes);
        if (batch.SlowestMilliseconds > total.SlowestMilliseconds) (total.SlowestMilliseconds, total.SlowestIndex) = (batch.SlowestMilliseconds, batch.SlowestIndex);
    }

    private void Save(int target, FuzzFailure failure)
    {
        var (file, bytes) = FuzzRunner.Input(_targets[target], failure.Seed, failure.Index);
        string name = $"r{target}-s{failure.Seed}-i{failure.Index}-{failure.Kind}";
        string directory = Path.Combine(outDirectory, "failures");
        File.WriteAllBytes(Path.Combine(directory, name + "-" + Path.GetFileName(file.RelativePath)), bytes);
        File.WriteAllText(Path.Combine(directory, name + ".txt"),
            $"reader {failure.Reader} (--reader {target}), seed {failure.Seed}, index {failure.Index}, seed file {Targets.Describe(file)}\n{failure.Kind}: {failure.Detail}\n");
        Console.WriteLine($"FAILURE {name}: {failure.Kind}: {failure.Detail.Split('\n')[0]}");
    }

    private void WriteSummary(ReaderStats[] totals, TimeSpan elapsed, long all)
    {
        var text = new StringBuilder();
        text.AppendLine($"seed {seed}, {all:N0} inputs in {elapsed.TotalMinutes:F1} min ({all / Math.Max(1, elapsed.TotalSeconds):F0} inputs/s)");
        text.AppendLine();
        text.AppendLine("| reader | inputs | accepted | rejected (documented error) | crashes / wrong exceptions / allocations | hangs | slowest input | most allocated |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---|---:|");
        long inputs = 0, failures = 0, hangs = 0;
        for (int t = 0; t < totals.Length; t++)
        {
            var s = totals[t];
            inputs += s.Inputs; failures += s.Failures; hangs += s.Hangs;
            text.AppendLine($"| {s.Reader} | {s.Inputs:N0} | {s.Accepted:N0} | {s.Rejected:N0} | {s.Failures} | {s.Hangs} | {s.SlowestMilliseconds:F1} ms (--reader {t} --index {s.SlowestIndex}) | {s.MostAllocatedBytes / 1024.0:N0} KiB |");
        }
        text.AppendLine($"| **all** | **{inputs:N0}** | | | **{failures}** | **{hangs}** | | |");
        File.WriteAllText(Path.Combine(outDirectory, "summary.md"), text.ToString());
    }
}
