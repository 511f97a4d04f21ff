using EmbeddedVectors.Soak;
using EmbeddedVectors.Tests.Store;

namespace EmbeddedVectors.Tests.Trust;

/// <summary>
/// The short version of the kill soak (tools/EmbeddedVectors.Soak kill-soak; docs/reliability.md has the long run):
/// a writer process with a random workload on real vectors is SIGKILLed at random moments, and after each kill
/// every acknowledged entry, payload, field and deletion must be back.
/// </summary>
public sealed class KillSoakTests
{
    /// <summary>Kills per run: 50, or EV_SOAK_KILLS.</summary>
    private static readonly int Kills = int.TryParse(Environment.GetEnvironmentVariable("EV_SOAK_KILLS"), out int kills) && kills > 0 ? kills : 50;

    [Fact]
    public void Fifty_killed_writers_lose_nothing_acknowledged()
    {
        using var dir = new TempStoreDirectory();
        // A fresh store every 25 kills: the first rounds of each are killed around training.
        var result = new KillSoak(dir.Path, seed: 20261129, TextWriter.Null, TestData.RequireSharedData("base.fvecs")).Run(Kills, freshEvery: 25);
        string problems = string.Join(Environment.NewLine, result.Problems);
        Assert.True(result.Kills == Kills, $"stopped after {result.Kills} kills: {problems}");
        Assert.True(result.FailedOpens == 0, problems);
        Assert.True(result.Lost == 0, problems);
        Assert.True(result.Resurrected == 0, problems);
        Assert.True(result.Damaged == 0, problems);
        Assert.True(result.AcknowledgedCommits > Kills, $"only {result.AcknowledgedCommits} commits were acknowledged: the kills came too early to test much");
    }
}
