using System.Diagnostics;
using System.Text;
using EmbeddedVectors.Storage;
using EmbeddedVectors.Tests.Store;
using Xunit.Abstractions;

namespace EmbeddedVectors.Tests.Trust.PowerLoss;

/// <summary>
/// Simulated power loss: a random workload (adds with payloads, upserts, deletes, commits, seals, training,
/// compaction, retraining) runs against a <see cref="RecordingFileSystem"/>; then every state a power cut at any
/// flush boundary could leave (<see cref="CrashStates"/>) is written to a fresh directory and opened through the
/// normal open path, and must hold every commit acknowledged before the cut.
/// </summary>
public sealed class PowerLossTests(ITestOutputHelper output)
{
    /// <summary>Workload rounds: 20 in CI, or EV_POWERLOSS_ROUNDS (the recorded run in docs/reliability.md).</summary>
    private static readonly int Rounds = int.TryParse(Environment.GetEnvironmentVariable("EV_POWERLOSS_ROUNDS"), out int rounds) && rounds > 0 ? rounds : 24;

    private const int Dimension = 8;

    private static EmbeddedVectorStoreOptions Options { get; } = new()
    {
        Dimension = Dimension,
        NList = 4,
        TrainingThreshold = 256,
        SealThreshold = 120,
        MergeFactor = 3,
        LogSegmentBits = 22, // 4 MiB log files: more of them to create and truncate
    };

    [Fact]
    public void Every_crash_state_at_every_flush_boundary_opens_and_holds_every_acknowledged_commit()
    {
        using var recorded = new TempStoreDirectory();
        Directory.CreateDirectory(recorded.Path);
        var fileSystem = new RecordingFileSystem(recorded.Path);
        var workload = new Workload(seed: 20261129);
        using (StoreFileSystem.Route(recorded.Path, fileSystem))
            workload.Run(Path.Combine(recorded.Path, "store"), fileSystem, Rounds);

        var operations = fileSystem.Operations;
        var seen = new HashSet<ulong>();
        int states = 0, distinct = 0, beforeCreate = 0, barriers = operations.Count(op => op.IsBarrier);
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();
        foreach (var state in CrashStates.Generate(operations, seed: 7, randomVariants: 1))
        {
            states++;
            if (!seen.Add(state.Fingerprint())) continue;
            distinct++;
            int acknowledged = workload.LastAcknowledgedBefore(state.Cut);
            if (acknowledged < 0) { beforeCreate++; continue; } // the store's creation had not returned: nothing promised
            string? failure = Check(state, workload, acknowledged);
            if (failure != null) failures.Add($"cut {state.Cut}/{operations.Count} ({state.Variant}): {failure}");
        }
        int logFiles = operations.Count(op => op.Kind == FileOpKind.Link && op.Path.Contains("/wal.log.", StringComparison.Ordinal));
        int logFilesDeleted = operations.Count(op => op.Kind == FileOpKind.Unlink && op.Path.Contains("/wal.log.", StringComparison.Ordinal));
        output.WriteLine($"{operations.Count} operations recorded ({barriers} flush boundaries, {workload.Acknowledged} acknowledged commits, " +
            $"{workload.Seals} seals, {workload.Compactions} compactions, {workload.Retrains} retraining, {logFiles} log files created, {logFilesDeleted} truncated away); " +
            $"{states} crash states, {distinct} distinct, {distinct - beforeCreate} opened and checked ({beforeCreate} before the store's creation returned), " +
            $"{failures.Count} failed; {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(failures.Count == 0, $"{failures.Count} of {distinct} crash states failed:\n" + string.Join("\n", failures.Take(20)));
        Assert.True(distinct - beforeCreate > 100, $"only {distinct - beforeCreate} crash states were checked");
        Assert.True(workload is { Seals: > 0, Compactions: > 0, Retrains: > 0 }, "the workload did not seal, compact and retrain");
    }

    [Fact]
    public void Every_log_and_commit_file_is_synced_into_its_directory_before_it_is_written()
    {
        // FASTER 2.6.5's own device never syncs the directory after creating a file; StoreLogDevice must.
        using var recorded = new TempStoreDirectory();
        Directory.CreateDirectory(recorded.Path);
        var fileSystem = new RecordingFileSystem(recorded.Path);
        using (StoreFileSystem.Route(recorded.Path, fileSystem))
        {
            using var store = EmbeddedVectorStore.Create(Path.Combine(recorded.Path, "store"), Options);
            for (int i = 0; i < 3; i++)
            {
                store.Add(i, new float[Dimension], $"payload {i}");
                store.Commit();
            }
        }
        var operations = fileSystem.Operations;
        var logFiles = Enumerable.Range(0, operations.Count)
            .Where(i => operations[i].Kind == FileOpKind.Link && operations[i].Path.StartsWith("store/log/", StringComparison.Ordinal)).ToList();
        Assert.Contains(logFiles, i => operations[i].Path.Contains("/wal.log.", StringComparison.Ordinal));
        Assert.True(logFiles.Count(i => operations[i].Path.Contains("/commit.", StringComparison.Ordinal)) >= 3, "a commit file a commit");
        foreach (int i in logFiles)
        {
            var next = operations[i + 1];
            Assert.True(next.Kind == FileOpKind.SyncDirectory && next.Path == operations[i].Directory,
                $"{operations[i].Path} was created, then {next.Kind} {next.Path} instead of a sync of {operations[i].Directory}");
        }
        foreach (string directory in new[] { "store", "store/log", "store/log/log-commits" })
        {
            int made = operations.FindIndex(op => op.Kind == FileOpKind.MakeDirectory && op.Path == directory);
            Assert.True(made >= 0 && operations[made + 1] is { Kind: FileOpKind.SyncDirectory } sync && sync.Path == FileOp.ParentOf(directory),
                $"{directory} was not synced into its parent right after its creation");
        }
    }

    /// <summary>Materialises the state, opens it, and compares every id ever used with what the commits allow.</summary>
    private static string? Check(CrashState state, Workload workload, int acknowledged)
    {
        using var directory = new TempStoreDirectory();
        Directory.CreateDirectory(directory.Path);
        state.Materialise(directory.Path);
        try
        {
            using var store = EmbeddedVectorStore.Open(Path.Combine(directory.Path, "store"), Options);
            var expected = new float[Dimension];
            foreach (long id in workload.Ids)
            {
                var entry = store.Get(id);
                string? actual = entry?.PayloadText;
                if (!workload.Allows(acknowledged, id, actual))
                    return actual == null
                        ? $"id {id} is missing; the commit acknowledged at step {acknowledged} holds '{Short(workload.ValueAt(acknowledged, id))}'"
                        : $"id {id} holds '{Short(actual)}', which no commit from step {acknowledged} on gave it (acknowledged: '{Short(workload.ValueAt(acknowledged, id)) ?? "deleted"}')";
                if (entry == null) continue;
                Workload.VectorOf(Workload.VersionOf(actual!), expected);
                for (int d = 0; d < Dimension; d++)
                    if (Math.Abs(entry.Vector[d] - expected[d]) > 2e-3f) // float16 rows
                        return $"id {id} ('{actual![..Math.Min(actual.Length, 16)]}…') has vector component {d} = {entry.Vector[d]}, not {expected[d]}";
            }
            return null;
        }
        catch (Exception e)
        {
            return $"failed to open or read: {e.GetType().Name}: {e.Message}";
        }
    }

    private static string? Short(string? payload) => payload == null ? null : payload.Length <= 24 ? payload : payload[..24] + "…";

    /// <summary>
    /// The random workload and its oracle: the expected contents (id → payload) after every step, each step ending
    /// with a commit, and the recorder's operation count when that commit returned.
    /// </summary>
    private sealed class Workload(int seed)
    {
        private readonly Random _random = new(seed);
        private readonly List<(int Operations, Dictionary<long, string> Contents)> _commits = [];
        private readonly Dictionary<long, string> _contents = [];
        private readonly HashSet<long> _ids = [];
        private long _nextId;
        private int _version;

        public IEnumerable<long> Ids => _ids;

        public int Acknowledged => _commits.Count;

        public int Seals { get; private set; }

        public int Compactions { get; private set; }

        public int Retrains { get; private set; }

        public void Run(string path, RecordingFileSystem recorder, int rounds)
        {
            var store = EmbeddedVectorStore.Create(path, Options);
            try
            {
                Acknowledge(recorder);
                for (int round = 0; round < rounds; round++)
                {
                    // Every eighth round seals and every eighth compacts, so that even a short run does both;
                    // training happens when the live entries reach the threshold, retraining once after that.
                    if (round % 8 == 4) { store.Flush(); Seals++; }
                    else if (round % 8 == 7) { store.Compact(); Compactions++; }
                    else if (Retrains == 0 && store.GetInfo().Trained) { store.Retrain(); Retrains++; }
                    else if (_random.Next(10) < 7) Add(store, _random.Next(20, 90));
                    else Delete(store, _random.Next(1, 15));
                    store.Commit();
                    store.WaitForMerges();
                    Acknowledge(recorder);
                }
            }
            finally
            {
                store.Dispose();
            }
            Acknowledge(recorder);
        }

        private void Add(EmbeddedVectorStore store, int count)
        {
            var ids = new long[count];
            var vectors = new float[count * Dimension];
            var payloads = new byte[count][];
            for (int i = 0; i < count; i++)
            {
                // A quarter are upserts of live ids.
                ids[i] = _contents.Count > 0 && _random.Next(4) == 0 ? _contents.Keys.ElementAt(_random.Next(_contents.Count)) : _nextId++;
                if (Array.IndexOf(ids, ids[i], 0, i) >= 0) ids[i] = _nextId++;
                string payload = PayloadOf(ids[i], ++_version);
                VectorOf(_version, vectors.AsSpan(i * Dimension, Dimension));
                payloads[i] = Encoding.UTF8.GetBytes(payload);
                _contents[ids[i]] = payload;
                _ids.Add(ids[i]);
            }
            store.AddRange(ids, vectors, payloads);
        }

        /// <summary>
        /// Payloads of up to 8 KB (fixed by the version), so that the log grows past its 4 MiB files in longer runs
        /// and log files are created and truncated away.
        /// </summary>
        private static string PayloadOf(long id, int version) => $"{id}:{version}:" + new string('p', version * 7919 % 8000);

        /// <summary>The vector of a version: fixed by it, so a check can recompute it from the payload.</summary>
        public static void VectorOf(int version, Span<float> vector)
        {
            var random = new Random(version);
            for (int d = 0; d < vector.Length; d++) vector[d] = (float)random.NextDouble();
        }

        public static int VersionOf(string payload) => int.Parse(payload.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);

        private void Delete(EmbeddedVectorStore store, int count)
        {
            for (int i = 0; i < count && _contents.Count > 0; i++)
            {
                long id = _contents.Keys.ElementAt(_random.Next(_contents.Count));
                store.Delete(id);
                _contents.Remove(id);
            }
        }

        private void Acknowledge(RecordingFileSystem recorder) => _commits.Add((recorder.Count, new Dictionary<long, string>(_contents)));

        /// <summary>The last commit whose return came at or before <paramref name="cut"/> recorded operations; -1 if none.</summary>
        public int LastAcknowledgedBefore(int cut)
        {
            int last = -1;
            for (int i = 0; i < _commits.Count && _commits[i].Operations <= cut; i++) last = i;
            return last;
        }

        public string? ValueAt(int commit, long id) => _commits[commit].Contents.GetValueOrDefault(id);

        /// <summary>
        /// Whether <paramref name="actual"/> (null: absent) is what <paramref name="id"/> held at the acknowledged
        /// commit or at a later one (a later commit may have reached the disk in part, but nothing older, and
        /// nothing no commit held).
        /// </summary>
        public bool Allows(int acknowledged, long id, string? actual)
        {
            for (int i = acknowledged; i < _commits.Count; i++)
                if (_commits[i].Contents.GetValueOrDefault(id) == actual) return true;
            return false;
        }
    }
}
