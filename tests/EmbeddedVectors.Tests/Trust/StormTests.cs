using EmbeddedVectors.Soak;
using EmbeddedVectors.Tests.Store;

namespace EmbeddedVectors.Tests.Trust;

/// <summary>
/// The short version of the concurrency storm (tools/EmbeddedVectors.Soak storm; docs/reliability.md has the
/// 10-minute run): 8 searching threads, a writer adding, replacing and deleting with commits, seals and
/// compactions, and a read-only searcher in another process, for 30 seconds; every result must be consistent.
/// </summary>
public sealed class StormTests
{
    [Fact]
    public void Thirty_seconds_of_searches_during_writes_seals_and_compactions_see_consistent_results()
    {
        using var dir = new TempStoreDirectory();
        var result = new Storm(Path.Combine(dir.Path, "store"), seed: 20261129, TextWriter.Null, TestData.RequireSharedData("base.fvecs")).Run(30);
        string problems = string.Join(Environment.NewLine, result.Problems);
        Assert.True(result.Violations == 0, problems);
        Assert.True(result.ReaderViolations == 0, problems);
        Assert.True(result.Searches > 100 && result.ReaderSearches > 10, $"too few searches to test much: {result.Searches} + {result.ReaderSearches}. {problems}");
        Assert.True(result.Upserts > 0 && result.Deletes > 0 && result.Seals > 0 && result.Compactions > 0, $"the writer did too little: {result}");
    }
}
