using System.Diagnostics;
using System.Globalization;

namespace EmbeddedVectors.Soak;

/// <summary>What a kill soak found.</summary>
/// <param name="Kills">Child processes killed.</param>
/// <param name="AcknowledgedCommits">Commits the children reported complete before being killed.</param>
/// <param name="Lost">Acknowledged entries missing, or present with another version, after a reopen.</param>
/// <param name="Resurrected">Ids deleted by an acknowledged commit that came back.</param>
/// <param name="Damaged">Entries whose vector, payload or fields differ from what was written.</param>
/// <param name="FailedOpens">Reopens (or <c>ev verify</c> checks) that failed.</param>
/// <param name="Stores">Fresh stores the run started (each trains from empty).</param>
/// <param name="KillsAfter">How many kills landed after each kind of operation line (A, D, C, S, K, T, R).</param>
/// <param name="Problems">The first problems found, described.</param>
public sealed record KillSoakResult(int Kills, long AcknowledgedCommits, long Lost, long Resurrected, long Damaged, int FailedOpens, int Stores,
    IReadOnlyDictionary<char, int> KillsAfter, IReadOnlyList<string> Problems);

/// <summary>
/// The kill soak's parent: starts a <see cref="SoakChild"/> on a store, SIGKILLs it at a random moment, reopens the
/// store, checks every acknowledged entry (vector bit for bit, payload, fields) and deletion, and goes on with a
/// new child on the same store; every <c>freshEvery</c> kills it starts a new store, so training on an untrained
/// store is killed too.
/// </summary>
public sealed class KillSoak
{
    private const int FieldChecksPerRound = 48;
    private readonly string _root;
    private readonly string _dataPath;
    private readonly SoakData _data;
    private readonly Random _random;
    private readonly TextWriter _log;
    private readonly List<string> _problems = [];
    private readonly Dictionary<char, int> _killsAfter = [];
    private long _lost, _resurrected, _damaged, _acknowledged;
    private int _failedOpens, _stores;

    /// <summary>Prepares a soak whose stores live under <paramref name="root"/>.</summary>
    public KillSoak(string root, int seed, TextWriter log, string? dataPath = null)
    {
        _root = root;
        _dataPath = dataPath ?? SoakData.FindBaseVectors();
        _data = SoakData.Load(_dataPath);
        _random = new Random(seed);
        _log = log;
    }

    /// <summary>Runs <paramref name="kills"/> rounds of start, kill, reopen and check; stops early when a reopen fails.</summary>
    public KillSoakResult Run(int kills, int freshEvery)
    {
        // The acknowledged state of the current store: id → version, absent when the id has no live entry.
        var acknowledged = new Dictionary<long, long>();
        string directory = "";
        int round = 0;
        for (; round < kills; round++)
        {
            if (round % freshEvery == 0)
            {
                if (directory.Length > 0) Directory.Delete(directory, recursive: true);
                directory = Path.Combine(_root, "store" + (_stores++).ToString(CultureInfo.InvariantCulture));
                acknowledged.Clear();
            }
            var pending = RunChildAndKill(directory, acknowledged);
            if (!CheckStore(directory, acknowledged, pending, round)) break;
            if ((round + 1) % 50 == 0)
                _log.WriteLine($"{round + 1} kills: {_acknowledged} acknowledged commits, lost {_lost}, resurrected {_resurrected}, damaged {_damaged}, failed opens {_failedOpens}");
        }
        if (directory.Length > 0 && Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        return new KillSoakResult(round, _acknowledged, _lost, _resurrected, _damaged, _failedOpens, _stores, _killsAfter, _problems);
    }

    /// <summary>
    /// Runs a child until a random moment and kills it. Applies every acknowledged operation to
    /// <paramref name="acknowledged"/> and returns the operations after the last acknowledgement (id → the
    /// versions it may have now; -1 for a delete), whose outcome the reopen decides.
    /// </summary>
    private Dictionary<long, List<long>> RunChildAndKill(string directory, Dictionary<long, long> acknowledged)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "EmbeddedVectors.Soak.dll"));
        info.ArgumentList.Add("soak-child");
        info.ArgumentList.Add(directory);
        info.ArgumentList.Add(_random.Next().ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add(_dataPath);
        using var process = Process.Start(info)!;
        var errors = process.StandardError.ReadToEndAsync();
        var pending = new Dictionary<long, List<long>>();
        int linesWanted = _random.Next(1, 60);
        int seen = 0;
        char last = ' ';
        string? line;
        while (seen < linesWanted && (line = process.StandardOutput.ReadLine()) != null)
        {
            last = Apply(line, acknowledged, pending) ? line[0] : last;
            seen++;
        }
        Thread.Sleep(_random.Next(0, 80)); // land the kill anywhere: mid-append, mid-commit, mid-seal, mid-training
        try { process.Kill(); } catch (InvalidOperationException) { }
        process.WaitForExit();
        // Lines printed before the kill landed describe operations that began (and commits that completed) too.
        while ((line = process.StandardOutput.ReadLine()) != null)
            last = Apply(line, acknowledged, pending) ? line[0] : last;
        _killsAfter[last] = _killsAfter.GetValueOrDefault(last) + 1;
        if (seen == 0) _problems.Add($"a child printed nothing: {errors.Result}");
        else if (process.ExitCode != 137 && errors.Result.Length > 0 && _problems.Count < 20)
            _problems.Add($"a child failed before its kill: {errors.Result}");
        return pending;
    }

    /// <summary>Applies one complete line; returns false for a line the kill cut (it did not start its operation).</summary>
    private bool Apply(string line, Dictionary<long, long> acknowledged, Dictionary<long, List<long>> pending)
    {
        if (!line.EndsWith(" .", StringComparison.Ordinal)) return false;
        var parts = line[..^2].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        switch (parts[0])
        {
            case "A":
                foreach (string part in parts.AsSpan(1))
                {
                    int colon = part.IndexOf(':');
                    Pending(pending, long.Parse(part.AsSpan(0, colon), CultureInfo.InvariantCulture)).Add(long.Parse(part.AsSpan(colon + 1), CultureInfo.InvariantCulture));
                }
                break;
            case "D":
                foreach (string part in parts.AsSpan(1)) Pending(pending, long.Parse(part, CultureInfo.InvariantCulture)).Add(-1);
                break;
            case "C":
                _acknowledged++;
                foreach (var (id, outcomes) in pending)
                {
                    long final = outcomes[^1];
                    if (final < 0) acknowledged.Remove(id);
                    else acknowledged[id] = final;
                }
                pending.Clear();
                break;
        }
        return true;
    }

    private static List<long> Pending(Dictionary<long, List<long>> pending, long id)
    {
        if (!pending.TryGetValue(id, out var list)) pending[id] = list = [];
        return list;
    }

    /// <summary>
    /// Checks the killed store: <c>ev verify</c>'s checks, then a writable reopen, then every id. An id must hold
    /// its acknowledged state or one that an unacknowledged operation after it wrote; the state found becomes
    /// the acknowledged one (the reopen's close seals it). Returns false when the store could not be opened.
    /// </summary>
    private bool CheckStore(string directory, Dictionary<long, long> acknowledged, Dictionary<long, List<long>> pending, int round)
    {
        var problems = EmbeddedVectorStore.Verify(directory);
        if (problems.Count > 0)
        {
            _failedOpens++;
            Problem($"round {round}: verify found {string.Join("; ", problems)}");
            return false;
        }
        EmbeddedVectorStore store;
        try { store = EmbeddedVectorStore.Open(directory); }
        catch (Exception e)
        {
            _failedOpens++;
            Problem($"round {round}: the reopen failed: {e}");
            return false;
        }
        using (store)
        {
            long live = 0;
            var present = new List<(long Id, long Version)>();
            for (long id = 0; id < SoakChild.IdSpace; id++)
            {
                bool wasAcknowledged = acknowledged.TryGetValue(id, out long expected);
                var entry = store.Get(id);
                long found = entry == null ? -1 : SoakData.VersionInPayload(entry.Payload);
                bool allowed = found == (wasAcknowledged ? expected : -1) || (pending.TryGetValue(id, out var outcomes) && outcomes.Contains(found));
                if (!allowed)
                {
                    if (found == -1 || wasAcknowledged) _lost++;
                    else _resurrected++;
                    Problem($"round {round}: id {id} holds version {found}; acknowledged {(wasAcknowledged ? expected : -1)}, pending [{string.Join(",", pending.GetValueOrDefault(id) ?? [])}]");
                }
                if (entry != null)
                {
                    if (found < 0 || !entry.Payload.AsSpan().SequenceEqual(SoakData.PayloadOf(id, found)) || !entry.Vector.AsSpan().SequenceEqual(_data.VectorOf(id, found)))
                    {
                        _damaged++;
                        Problem($"round {round}: id {id} version {found}: the vector or payload differs from what was written");
                    }
                    live++;
                    present.Add((id, found));
                    acknowledged[id] = found;
                }
                else acknowledged.Remove(id);
            }
            if (store.Count != live)
            {
                _lost++;
                Problem($"round {round}: Count says {store.Count}, but {live} ids of the workload are live");
            }
            CheckFields(store, present, round);
        }
        return true;
    }

    /// <summary>Fields are not returned by Get: a filtered search for (id, its version, its tag) must find exactly the id.</summary>
    private void CheckFields(EmbeddedVectorStore store, List<(long Id, long Version)> present, int round)
    {
        for (int i = 0; i < FieldChecksPerRound && present.Count > 0; i++)
        {
            var (id, version) = present[_random.Next(present.Count)];
            var where = Filter.Id(id) & Filter.Field("ver") == version & Filter.Field("tag") == SoakData.TagOf(version);
            var hits = store.Search(_data.VectorOf(id, version), 1, new StoreSearchOptions { NProbe = 16, Where = where });
            if (hits.Count != 1 || hits[0].Id != id)
            {
                _damaged++;
                Problem($"round {round}: id {id} version {version}: its fields did not match (a filtered search found {hits.Count} hits)");
            }
        }
    }

    private void Problem(string text)
    {
        if (_problems.Count < 20) _problems.Add(text);
    }
}
