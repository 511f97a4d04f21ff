using System.Diagnostics;
using EmbeddedVectors.Cli;

namespace EmbeddedVectors.Fuzz;

/// <summary>What one reader's run of inputs came to.</summary>
internal sealed class ReaderStats(string reader)
{
    public string Reader { get; } = reader;
    public long Inputs { get; set; }
    public long Accepted { get; set; }
    public long Rejected { get; set; }
    public long Failures { get; set; }
    public long Hangs { get; set; }
    public double SlowestMilliseconds { get; set; }
    public long SlowestIndex { get; set; } = -1;
    public long MostAllocatedBytes { get; set; }
}

/// <summary>
/// What one input came to: accepted, or rejected with a documented error (both allowed), or a failure of
/// <see cref="FailureKind"/> ("exception", "allocation") described by <see cref="Failure"/>.
/// </summary>
internal readonly record struct InputOutcome(bool Accepted, string? FailureKind, string? Failure, double Milliseconds, long AllocatedBytes);

/// <summary>A failed input: which one (reader, seed, index: enough to make it again) and what went wrong.</summary>
internal sealed record FuzzFailure(string Reader, int Seed, long Index, string Kind, string Detail);

/// <summary>
/// Runs mutated inputs through the readers in this process. Each input is input <c>index</c> of a reader under a
/// run seed, made again identically from those three numbers (<see cref="Input"/>), so a failure found in a child
/// process can be saved and replayed by the parent.
/// </summary>
/// <remarks>
/// An input passes when the reader accepts it or throws a documented exception naming the file
/// (<see cref="IsDocumented"/>), within the time limit and without allocating more on its thread than
/// <see cref="AllocationBound"/>. Anything else is a failure; a hang is reported by the watchdog of
/// <see cref="RunGuarded"/>.
/// </remarks>
internal sealed class FuzzRunner : IDisposable
{
    private readonly string _work;
    private readonly Dictionary<string, string> _workRoots = [];
    private readonly Dictionary<(string Target, SeedFile Seed), long> _baselineBytes = []; // by target too: readers share seed files

    /// <summary>Prepares a work area under <paramref name="workParent"/> (best on a tmpfs such as /dev/shm).</summary>
    public FuzzRunner(string workParent, IReadOnlyList<FuzzTarget> targets)
    {
        Targets = targets;
        _work = Path.Combine(workParent, $"ev-fuzz-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_work);
    }

    /// <summary>The readers.</summary>
    public IReadOnlyList<FuzzTarget> Targets { get; }

    /// <summary>Milliseconds after which an input counts as a hang.</summary>
    public int HangMilliseconds { get; init; } = 10_000;

    /// <summary>Input <paramref name="index"/> of <paramref name="target"/> under <paramref name="seed"/>: its seed file and mutated bytes.</summary>
    public static (SeedFile Seed, byte[] Bytes) Input(FuzzTarget target, int seed, long index)
    {
        var rng = new Random(unchecked((int)((uint)seed * 2654435761u ^ (uint)(index * 40503) ^ (uint)(index >> 32) ^ (uint)target.Name.Length * 97u)));
        var file = target.Seeds[rng.Next(target.Seeds.Count)];
        return (file, Mutator.Mutate(file.Bytes, file.Kind, rng));
    }

    /// <summary>
    /// Runs inputs <paramref name="from"/> to <paramref name="from"/> + <paramref name="count"/> − 1 of
    /// <paramref name="target"/> on a worker thread watched for hangs; <paramref name="starting"/> is told each
    /// index before it runs (a parent process learns from it which input killed a child).
    /// </summary>
    public ReaderStats RunGuarded(FuzzTarget target, int seed, long from, long count, List<FuzzFailure> failures, Action<long>? starting = null)
    {
        var stats = new ReaderStats(target.Name);
        long current = -1, startedAt = 0;
        Exception? workerError = null;
        var worker = new Thread(() =>
        {
            try
            {
                for (long i = from; i < from + count; i++)
                {
                    starting?.Invoke(i);
                    Volatile.Write(ref startedAt, Stopwatch.GetTimestamp());
                    Volatile.Write(ref current, i);
                    RunOne(target, seed, i, stats, failures);
                }
            }
            catch (Exception e) { workerError = e; }
        }, 64 << 20) { IsBackground = true, Name = "fuzz worker" };
        worker.Start();
        while (!worker.Join(200))
        {
            long at = Volatile.Read(ref current), since = Volatile.Read(ref startedAt);
            if (at >= 0 && Stopwatch.GetElapsedTime(since).TotalMilliseconds > HangMilliseconds && Volatile.Read(ref current) == at)
            {
                lock (failures) failures.Add(new FuzzFailure(target.Name, seed, at, "hang", $"still running after {HangMilliseconds} ms"));
                stats.Hangs++;
                return stats; // the worker is a background thread: it is left behind
            }
        }
        if (workerError != null) throw new InvalidOperationException("The fuzz loop itself failed.", workerError);
        return stats;
    }

    private void RunOne(FuzzTarget target, int seed, long index, ReaderStats stats, List<FuzzFailure> failures)
    {
        var (file, bytes) = Input(target, seed, index);
        var outcome = RunInput(target, file, bytes);
        stats.Inputs++;
        if (outcome.Accepted) stats.Accepted++;
        else if (outcome.FailureKind == null) stats.Rejected++;
        if (outcome.Milliseconds > stats.SlowestMilliseconds) (stats.SlowestMilliseconds, stats.SlowestIndex) = (outcome.Milliseconds, index);
        stats.MostAllocatedBytes = Math.Max(stats.MostAllocatedBytes, outcome.AllocatedBytes);
        if (outcome.FailureKind != null)
        {
            stats.Failures++;
            lock (failures) failures.Add(new FuzzFailure(target.Name, seed, index, outcome.FailureKind, outcome.Failure!));
        }
    }

    /// <summary>
    /// Runs <paramref name="target"/> with <paramref name="bytes"/> in place of <paramref name="file"/> (in the work
    /// copy, restored afterwards) and judges the outcome by the rules of this class: the one place that says what an
    /// input may do, for the mutation loop and for the AFL entry point (<see cref="AflHarness"/>) alike. A hang is
    /// not judged here: the caller's watchdog (or afl-fuzz's <c>-t</c>) sees it.
    /// </summary>
    public InputOutcome RunInput(FuzzTarget target, SeedFile file, byte[] bytes)
    {
        string root = WorkRoot(file);
        string path = Path.Combine(root, file.RelativePath);
        long bound = AllocationBound(target, file, bytes.Length);
        File.WriteAllBytes(path, bytes);
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        long started = Stopwatch.GetTimestamp();
        bool accepted = false;
        string? problem = null, kind = null;
        try
        {
            target.Execute(root, file);
            accepted = true;
        }
        catch (Exception e) when (IsDocumented(e, root))
        {
        }
        catch (Exception e)
        {
            (kind, problem) = ("exception", e.ToString());
        }
        double milliseconds = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        File.WriteAllBytes(path, file.Bytes);
        if (problem == null && allocated > bound)
            (kind, problem) = ("allocation", $"allocated {allocated:N0} bytes on the reading thread for a {bytes.Length:N0}-byte input; the bound is {bound:N0}");
        return new InputOutcome(accepted && kind == null, kind, problem, milliseconds, allocated);
    }

    /// <summary>
    /// The documented outcomes of a bad file (docs/reliability.md): <see cref="CorruptFileException"/> (and
    /// <see cref="NewerFormatVersionException"/>) naming a file of the store or the import file; for a store open,
    /// an <see cref="EmbeddedVectorsException"/> whose message names the store; for `ev add`'s payload file, the
    /// CLI's user error naming the file.
    /// </summary>
    public static bool IsDocumented(Exception e, string root) => e switch
    {
        CorruptFileException corrupt => corrupt.FilePath.StartsWith(root, StringComparison.Ordinal),
        EmbeddedVectorsException store => store.Message.Contains(root, StringComparison.Ordinal),
        UserErrorException user => user.Message.Contains(root, StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>
    /// What an input may allocate on the reading thread: twice what its unmutated seed takes, plus 64 bytes for each
    /// byte of input, plus 1 MiB (for a store open: three times, plus 16 MiB). A reader that sizes an array from a count in the file, rather than from the file,
    /// goes past it.
    /// </summary>
    private long AllocationBound(FuzzTarget target, SeedFile file, long inputBytes)
    {
        if (!_baselineBytes.TryGetValue((target.Name, file), out long baseline))
        {
            string root = WorkRoot(file);
            long before = GC.GetAllocatedBytesForCurrentThread();
            target.Execute(root, file); // the unmutated seed must pass; if it throws, the corpus is broken
            baseline = GC.GetAllocatedBytesForCurrentThread() - before;
            _baselineBytes[(target.Name, file)] = baseline;
        }
        // A store open also allocates FASTER's buffers and the snapshot, which vary a little with what the log holds.
        return target.StoreLevel ? 3 * baseline + 64 * inputBytes + (16 << 20) : 2 * baseline + 64 * inputBytes + (1 << 20);
    }

    /// <summary>The work copy of the seed's root (made on first use).</summary>
    private string WorkRoot(SeedFile file)
    {
        if (_workRoots.TryGetValue(file.Root, out string? root)) return root;
        root = Path.Combine(_work, Path.GetFileName(file.Root));
        SeedCorpus.CopyDirectory(file.Root, root);
        _workRoots[file.Root] = root;
        return root;
    }

    /// <summary>Removes the work area.</summary>
    public void Dispose()
    {
        try { Directory.Delete(_work, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
