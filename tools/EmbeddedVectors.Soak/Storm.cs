using System.Diagnostics;
using System.Globalization;

namespace EmbeddedVectors.Soak;

/// <summary>What a storm counted.</summary>
/// <param name="Seconds">How long it ran.</param>
/// <param name="Searches">Searches checked in this process (8 threads).</param>
/// <param name="Adds">Entries added with new ids.</param>
/// <param name="Upserts">Entries replaced.</param>
/// <param name="Deletes">Entries deleted.</param>
/// <param name="Commits">Commits.</param>
/// <param name="Seals">Flushes (seals) besides the automatic ones.</param>
/// <param name="Compactions">Compactions.</param>
/// <param name="Violations">Search results inconsistent with every state the store went through during the search.</param>
/// <param name="ReaderSearches">Searches checked in the read-only process.</param>
/// <param name="ReaderViolations">Inconsistent results there, plus any exception it met.</param>
/// <param name="Problems">The first violations, described.</param>
public sealed record StormResult(double Seconds, long Searches, long Adds, long Upserts, long Deletes, long Commits, long Seals, long Compactions,
    long Violations, long ReaderSearches, long ReaderViolations, IReadOnlyList<string> Problems);

/// <summary>
/// The concurrency storm: 8 threads search while one writer adds, replaces and deletes entries, commits, seals
/// and compacts, and a second process opened read-only (with AutoRefresh) searches too. Every result is checked
/// against what the writer had done when the search began and ended: k hits (the store never holds fewer than
/// <see cref="MinLive"/> entries), no id twice, distances ascending, no entry whose delete had returned before the
/// search began, and each distance equal (to 1e-4 relative) to the exact distance to a version of the entry that
/// was live at some moment of the search.
/// </summary>
public sealed class Storm
{
    /// <summary>Hits asked of every search.</summary>
    public const int K = 10;

    /// <summary>The writer never deletes below this many live entries, so every search must return <see cref="K"/> hits.</summary>
    public const int MinLive = 2000;

    private const int MaxLive = 12000;
    private const int MaxVersion = 48; // the reader process tries every version up to this one
    private const int Ring = 4; // replaced versions remembered per id
    private const int SearchThreads = 8;
    private static readonly StoreSearchOptions SearchOptions = new() { NProbe = 16, Rerank = 4 * K };

    private readonly string _directory;
    private readonly SoakData _data;
    private readonly string _dataPath;
    private readonly int _seed;
    private readonly TextWriter _log;
    private readonly int _idSpace;
    // Shared with the searchers. version[id]: the version being written or last written (-1: never added);
    // deleted[id]: the sequence number after the delete returned (0: not deleted; deleted ids are never reused);
    // replaced[id * Ring + v % Ring]: the sequence number after the upsert replacing version v returned.
    private readonly long[] _version;
    private readonly long[] _deleted;
    private readonly long[] _replaced;
    private long _sequence = 1;
    private long _searches, _violations;
    private readonly List<string> _problems = [];

    /// <summary>Prepares a storm on a new store in <paramref name="directory"/>.</summary>
    public Storm(string directory, int seed, TextWriter log, string? dataPath = null)
    {
        _directory = directory;
        _dataPath = dataPath ?? SoakData.FindBaseVectors();
        _data = SoakData.Load(_dataPath);
        _seed = seed;
        _log = log;
        _idSpace = 1 << 22;
        _version = new long[_idSpace];
        Array.Fill(_version, -1);
        _deleted = new long[_idSpace];
        _replaced = new long[_idSpace * Ring];
    }

    /// <summary>The store's options: float32 rows, so re-ranked distances can be recomputed exactly.</summary>
    public static EmbeddedVectorStoreOptions Options(int dimension) => new()
    {
        Dimension = dimension, NList = 16, M = 8, TrainingThreshold = 1000, SealThreshold = 3000, Rows = RowEncoding.Float32,
    };

    /// <summary>Runs the storm for <paramref name="seconds"/>.</summary>
    public StormResult Run(double seconds)
    {
        using var store = EmbeddedVectorStore.Create(_directory, Options(_data.Dimension));
        var writerRandom = new Random(_seed);
        var live = new List<long>();
        long nextId = 0;
        long adds = 0, upserts = 0, deletes = 0, commits = 0, seals = 0, compactions = 0;
        adds += AddNew(store, ref nextId, MinLive + 500, live);
        store.Commit();
        var clock = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(seconds);
        using var reader = StartReader(seconds);
        var readerOutput = reader.StandardOutput.ReadToEndAsync();
        var readerErrors = reader.StandardError.ReadToEndAsync();
        var searchers = new Thread[SearchThreads];
        for (int t = 0; t < SearchThreads; t++)
        {
            int threadSeed = _seed * 31 + t;
            searchers[t] = new Thread(() => SearchUntil(store, clock, deadline, threadSeed)) { IsBackground = true };
            searchers[t].Start();
        }
        var lastSeal = TimeSpan.Zero;
        var lastCompaction = TimeSpan.Zero;
        var lastReport = TimeSpan.Zero;
        while (clock.Elapsed < deadline)
        {
            double draw = writerRandom.NextDouble();
            if (live.Count < MaxLive && draw < 0.45 && nextId + 20 < _idSpace) adds += AddNew(store, ref nextId, writerRandom.Next(1, 21), live);
            else if (draw < 0.75) upserts += Upsert(store, writerRandom, live);
            else if (live.Count > MinLive) deletes += Delete(store, writerRandom, live);
            if (writerRandom.NextDouble() < 0.5)
            {
                store.Commit();
                commits++;
            }
            if (clock.Elapsed - lastSeal > TimeSpan.FromSeconds(2))
            {
                store.Flush();
                seals++;
                lastSeal = clock.Elapsed;
            }
            if (clock.Elapsed - lastCompaction > TimeSpan.FromSeconds(10))
            {
                store.Compact();
                compactions++;
                lastCompaction = clock.Elapsed;
            }
            if (clock.Elapsed - lastReport > TimeSpan.FromSeconds(60))
            {
                lastReport = clock.Elapsed;
                _log.WriteLine($"{clock.Elapsed.TotalSeconds:F0} s: searches {Interlocked.Read(ref _searches)}, adds {adds}, upserts {upserts}, deletes {deletes}, violations {Interlocked.Read(ref _violations)}");
            }
        }
        foreach (var searcher in searchers) searcher.Join();
        store.Commit();
        long readerSearches = 0, readerViolations = 1;
        if (!reader.WaitForExit(TimeSpan.FromSeconds(seconds + 120))) { reader.Kill(); Problem("the reader process did not stop"); }
        foreach (string line in readerOutput.Result.Split('\n'))
        {
            var parts = line.Split(' ');
            if (parts.Length == 4 && parts[0] == "reader")
            {
                readerSearches = long.Parse(parts[1], CultureInfo.InvariantCulture);
                readerViolations = long.Parse(parts[3], CultureInfo.InvariantCulture);
            }
            else if (line.Length > 0) Problem("reader: " + line);
        }
        if (readerErrors.Result.Length > 0) Problem("reader: " + readerErrors.Result);
        return new StormResult(clock.Elapsed.TotalSeconds, _searches, adds, upserts, deletes, commits, seals, compactions, _violations, readerSearches, readerViolations, _problems);
    }

    private Process StartReader(double seconds)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "EmbeddedVectors.Soak.dll"));
        info.ArgumentList.Add("storm-reader");
        info.ArgumentList.Add(_directory);
        info.ArgumentList.Add(seconds.ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add(_dataPath);
        return Process.Start(info)!;
    }

    private long AddNew(EmbeddedVectorStore store, ref long nextId, int count, List<long> live)
    {
        var ids = new long[count];
        for (int i = 0; i < count; i++)
        {
            ids[i] = nextId++;
            Volatile.Write(ref _version[ids[i]], 0);
            live.Add(ids[i]);
        }
        Write(store, ids);
        Interlocked.Increment(ref _sequence);
        return count;
    }

    private long Upsert(EmbeddedVectorStore store, Random random, List<long> live)
    {
        int count = random.Next(1, 11);
        var ids = new List<long>(count);
        for (int i = 0; i < count; i++)
        {
            long id = live[random.Next(live.Count)];
            if (_version[id] < MaxVersion && !ids.Contains(id)) ids.Add(id);
        }
        foreach (long id in ids)
        {
            long next = _version[id] + 1;
            Volatile.Write(ref _replaced[id * Ring + next % Ring], 0); // the slot of a version that was replaced long ago
            Volatile.Write(ref _version[id], next);
        }
        Write(store, [.. ids]);
        long sequence = Interlocked.Increment(ref _sequence);
        foreach (long id in ids) Volatile.Write(ref _replaced[id * Ring + (_version[id] - 1) % Ring], sequence);
        return ids.Count;
    }

    private long Delete(EmbeddedVectorStore store, Random random, List<long> live)
    {
        int count = Math.Min(random.Next(1, 6), live.Count - MinLive);
        for (int i = 0; i < count; i++)
        {
            int at = random.Next(live.Count);
            long id = live[at];
            live[at] = live[^1];
            live.RemoveAt(live.Count - 1);
            store.Delete(id);
            Volatile.Write(ref _deleted[id], Interlocked.Increment(ref _sequence));
        }
        return count;
    }

    private void Write(EmbeddedVectorStore store, long[] ids)
    {
        var vectors = new float[ids.Length * _data.Dimension];
        for (int i = 0; i < ids.Length; i++) _data.VectorOf(ids[i], _version[ids[i]]).CopyTo(vectors.AsSpan(i * _data.Dimension));
        store.AddRange(ids, vectors);
    }

    private void SearchUntil(EmbeddedVectorStore store, Stopwatch clock, TimeSpan deadline, int seed)
    {
        var random = new Random(seed);
        while (clock.Elapsed < deadline)
        {
            var query = _data.Rows.AsSpan(random.Next(SoakData.SliceRows) * _data.Dimension, _data.Dimension);
            long before = Interlocked.Read(ref _sequence);
            var hits = store.Search(query, K, SearchOptions);
            Interlocked.Increment(ref _searches);
            string? problem = Check(hits, query, before);
            if (problem != null)
            {
                Interlocked.Increment(ref _violations);
                lock (_problems) Problem(problem);
            }
        }
    }

    /// <summary>The first way <paramref name="hits"/> is inconsistent with the writer's history, or null.</summary>
    private string? Check(IReadOnlyList<StoreHit> hits, ReadOnlySpan<float> query, long before)
    {
        string? shape = CheckShape(hits);
        if (shape != null) return shape;
        foreach (var hit in hits)
        {
            long id = hit.Id;
            if (id < 0 || id >= _idSpace || Volatile.Read(ref _version[id]) < 0) return $"id {id} was never added";
            long deletedAt = Volatile.Read(ref _deleted[id]);
            if (deletedAt != 0 && deletedAt <= before) return $"id {id} was found after its delete had returned";
            long current = Volatile.Read(ref _version[id]);
            bool matched = false;
            for (long v = current; v >= Math.Max(0, current - Ring + 1) && !matched; v--)
            {
                if (!SameDistance(hit.Distance, SoakData.SquaredL2(query, _data.VectorOf(id, v)))) continue;
                long replacedAt = Volatile.Read(ref _replaced[id * Ring + v % Ring]);
                matched = v == current || replacedAt == 0 || replacedAt > before;
            }
            if (!matched) return $"id {id} at distance {hit.Distance}: no version live during the search is at that distance";
        }
        return null;
    }

    /// <summary>The checks a reader in another process can make too: k hits, no id twice, distances ascending.</summary>
    public static string? CheckShape(IReadOnlyList<StoreHit> hits)
    {
        if (hits.Count != K) return $"{hits.Count} hits, not {K}";
        for (int i = 0; i < hits.Count; i++)
        {
            if (i > 0 && hits[i].Distance < hits[i - 1].Distance) return $"distances not ascending at rank {i}";
            for (int j = 0; j < i; j++)
                if (hits[j].Id == hits[i].Id) return $"id {hits[i].Id} twice";
        }
        return null;
    }

    /// <summary>The store's float kernels against the double oracle: equal to 1e-4 relative (1e-5 absolute near 0).</summary>
    public static bool SameDistance(float found, double exact) => Math.Abs(found - exact) <= 1e-5 + 1e-4 * Math.Abs(exact);

    /// <summary>
    /// The read-only process: opens the store with AutoRefresh and searches for <paramref name="seconds"/>, checking
    /// each result's shape and that every distance is the exact distance to some version of the entry. Prints
    /// "reader SEARCHES violations N" and the first problems.
    /// </summary>
    public static int RunReader(string directory, double seconds, string dataPath)
    {
        var data = SoakData.Load(dataPath);
        var random = new Random(7);
        long searches = 0, violations = 0;
        var problems = new List<string>();
        var clock = Stopwatch.StartNew();
        using (var store = EmbeddedVectorStore.Open(directory, new EmbeddedVectorStoreOptions { ReadOnly = true, AutoRefresh = true }))
        {
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                var query = data.Rows.AsSpan(random.Next(SoakData.SliceRows) * data.Dimension, data.Dimension);
                string? problem;
                try
                {
                    var hits = store.Search(query, K, SearchOptions);
                    problem = CheckShape(hits) ?? CheckAnyVersion(hits, query, data);
                }
                catch (Exception e) when (e is EmbeddedVectorsException or IOException)
                {
                    problem = "search failed: " + e.Message;
                }
                searches++;
                if (problem == null) continue;
                violations++;
                if (problems.Count < 10) problems.Add(problem);
            }
        }
        Console.Out.WriteLine($"reader {searches} violations {violations}");
        foreach (string problem in problems) Console.Out.WriteLine(problem);
        return 0;
    }

    private static string? CheckAnyVersion(IReadOnlyList<StoreHit> hits, ReadOnlySpan<float> query, SoakData data)
    {
        foreach (var hit in hits)
        {
            bool matched = false;
            for (long v = 0; v <= MaxVersion && !matched; v++) matched = SameDistance(hit.Distance, SoakData.SquaredL2(query, data.VectorOf(hit.Id, v)));
            if (!matched) return $"id {hit.Id} at distance {hit.Distance}: no version of it is at that distance";
        }
        return null;
    }

    private void Problem(string text)
    {
        if (_problems.Count < 20) _problems.Add(text);
    }
}
