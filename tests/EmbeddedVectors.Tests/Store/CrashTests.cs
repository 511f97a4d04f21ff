using System.Diagnostics;

namespace EmbeddedVectors.Tests.Store;

/// <summary>
/// Kills a real writer process with SIGKILL at random moments, many times, and checks that every entry a
/// completed commit covered is back with the right vector and payload, and that deletions held.
/// </summary>
public sealed class CrashTests
{
    /// <summary>Kills per run: 20, or EV_KILL_ROUNDS (for a long soak: <c>EV_KILL_ROUNDS=1000 dotnet test --filter CrashTests</c>).</summary>
    private static readonly int Rounds = int.TryParse(Environment.GetEnvironmentVariable("EV_KILL_ROUNDS"), out int rounds) && rounds > 0 ? rounds : 20;

    [Fact]
    public void Killed_writers_lose_nothing_that_was_committed()
    {
        using var dir = new TempStoreDirectory();
        var random = new Random(20261125);
        long committed = 0;
        for (int round = 0; round < Rounds; round++)
        {
            long reported = RunChildAndKill(dir.Path, committed, random);
            Assert.True(reported >= committed, $"round {round}: the child reported {reported} < {committed}");
            committed = reported;
            using var store = EmbeddedVectorStore.Open(dir.Path, CrashEntries.Options);
            CheckEntries(store, committed, round);
        }
        Assert.True(committed > 3000 || Rounds < 20, $"only {committed} entries were committed over {Rounds} rounds: the kills came too early to test sealing");
    }

    /// <summary>Starts the child, lets it commit a random number of batches, kills it, and returns the last committed count it printed.</summary>
    private static long RunChildAndKill(string directory, long start, Random random)
    {
        using var process = CrashChildProcess.Start(directory, start);
        long last = start;
        int commitsWanted = random.Next(1, 25);
        int seen = 0;
        var errors = process.StandardError.ReadToEndAsync();
        while (seen < commitsWanted)
        {
            string? line = process.StandardOutput.ReadLine();
            if (line == null) break;
            if (!line.StartsWith("committed ", StringComparison.Ordinal)) continue;
            last = long.Parse(line.AsSpan("committed ".Length), System.Globalization.CultureInfo.InvariantCulture);
            seen++;
        }
        Thread.Sleep(random.Next(0, 40)); // land the kill anywhere: mid-append, mid-commit, mid-seal
        try { process.Kill(); } catch (InvalidOperationException) { }
        process.WaitForExit();
        // Lines printed before the kill landed are commits that completed too.
        string? rest;
        while ((rest = process.StandardOutput.ReadLine()) != null)
            if (rest.StartsWith("committed ", StringComparison.Ordinal))
                last = long.Parse(rest.AsSpan("committed ".Length), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(seen > 0, $"the child committed nothing: {errors.Result}");
        return last;
    }

    private static void CheckEntries(EmbeddedVectorStore store, long committed, int round)
    {
        var expected = new float[CrashEntries.Dimension];
        for (long id = 0; id < committed; id++)
        {
            var entry = store.Get(id);
            if (CrashEntries.IsDeleted(id))
            {
                Assert.True(entry == null, $"round {round}: id {id} was deleted and committed, but it is back");
                continue;
            }
            Assert.True(entry != null, $"round {round}: committed id {id} of {committed} is missing");
            CrashEntries.VectorOf(id, expected);
            Assert.Equal(expected, entry!.Vector);
            Assert.Equal(CrashEntries.PayloadOf(id), entry.Payload);
        }
        // Search still finds committed entries by their own vector.
        long probe = committed - 1 - (CrashEntries.IsDeleted(committed - 1) ? 1 : 0);
        CrashEntries.VectorOf(probe, expected);
        var hits = store.Search(expected, 1, new StoreSearchOptions { NProbe = 16, Rerank = 20 });
        Assert.Equal(probe, hits[0].Id);
    }
}
