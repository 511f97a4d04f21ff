using System.Diagnostics;
using EmbeddedVectors.IO;
using EmbeddedVectors.Search;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Tests.Store;

/// <summary>
/// Read-ahead advice (the kernel told which segment pages a search will read) changes what the disk does, never
/// what a search returns; automatic mode starts advising when re-ranking's reads wait on the disk and stops when
/// they no longer do.
/// </summary>
public sealed class ReadAheadTests
{
    private static EmbeddedVectorStoreOptions Options(bool? readAhead) => new()
    {
        Dimension = RealData.Instance.Dimension,
        NList = 32,
        M = 48,
        TrainingThreshold = 2000,
        SealThreshold = 1500,
        KMeans = new KMeansOptions { Iterations = 6 },
        ReadAhead = readAhead,
    };

    [Fact]
    public void Searches_with_and_without_advice_return_the_same_hits()
    {
        using var dir = new TempStoreDirectory();
        using (var store = EmbeddedVectorStore.Create(dir.Path, Options(readAhead: false)))
            RealRows.Add(store, 0, 4000, row => $"{{\"row\": {row}}}"); // sealed segments (merged, maybe) plus a buffer
        using var advised = EmbeddedVectorStore.Open(dir.Path, Options(readAhead: true) with { ReadOnly = true });
        using var plain = EmbeddedVectorStore.Open(dir.Path, Options(readAhead: false) with { ReadOnly = true });
        Assert.True(advised.GetInfo().Segments >= 1);
        var search = new StoreSearchOptions { NProbe = 8, Rerank = 50 };
        for (int q = 0; q < 50; q++)
        {
            var query = RealData.Instance.Query(q);
            var expected = plain.Search(query, 10, search);
            var actual = advised.Search(query, 10, search);
            Assert.Equal(expected.Select(h => h.Id), actual.Select(h => h.Id));
            Assert.Equal(expected.Select(h => h.Distance), actual.Select(h => h.Distance));
        }
    }

    [SkippableFact]
    public void Automatic_mode_advises_after_two_slow_queries_and_stops_after_two_fast_ones()
    {
        Skip.IfNot(MemoryAdvice.Available, "This OS takes no memory advice (madvise), so read-ahead is always off.");
        var readAhead = new ReadAhead();
        long slow = Ticks(ReadAhead.FaultNanoseconds * 2 * 100), fast = Ticks(100 * 100);
        Assert.False(readAhead.ShouldAdvise());
        readAhead.Observe(advised: false, rows: 100, slow);
        Assert.False(readAhead.Advising); // one slow query may be a preempted one
        readAhead.Observe(advised: false, rows: 100, slow);
        Assert.True(readAhead.Advising);
        int advised = 0;
        for (int i = 0; i < ReadAhead.ProbeEvery; i++) if (readAhead.ShouldAdvise()) advised++;
        Assert.Equal(ReadAhead.ProbeEvery - 1, advised); // one query in ProbeEvery reads without, to measure
        readAhead.Observe(advised: true, rows: 100, fast); // advised reads say nothing about the disk
        Assert.True(readAhead.Advising);
        readAhead.Observe(advised: false, rows: 100, fast);
        Assert.True(readAhead.Advising); // one fast probe may have met rows another query had just read
        readAhead.Observe(advised: false, rows: 100, slow);
        readAhead.Observe(advised: false, rows: 100, fast);
        Assert.True(readAhead.Advising); // fast, slow, fast: not two in a row
        readAhead.Observe(advised: false, rows: 100, fast);
        Assert.False(readAhead.Advising);
        Assert.False(readAhead.ShouldAdvise());
    }

    [Fact]
    public void Forced_modes_ignore_what_they_observe()
    {
        var always = new ReadAhead(forced: true);
        var never = new ReadAhead(forced: false);
        for (int i = 0; i < 3; i++)
        {
            always.Observe(advised: false, rows: 100, Ticks(100));
            never.Observe(advised: false, rows: 100, Ticks(1e9));
        }
        Assert.Equal(MemoryAdvice.Available, always.ShouldAdvise());
        Assert.False(never.ShouldAdvise());
    }

    private static long Ticks(double nanoseconds) => (long)(nanoseconds * Stopwatch.Frequency / 1e9);
}
