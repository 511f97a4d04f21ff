using System.Diagnostics;
using EmbeddedVectors.IO;

namespace EmbeddedVectors.Search;

/// <summary>
/// Decides, query by query, whether a search over mapped files tells the kernel up front which pages it is about to
/// read (the probed cells' codes, then every shortlisted row): when those pages are on disk, the reads then overlap
/// on the device instead of faulting one at a time (this disk does ~4.7k random reads/s one at a time and ~27k
/// thirty-two at a time); when they are resident, the advice is a wasted system call per cell and per row. One per
/// store, shared by its searches; its counters are racy by design (a lost update only delays a switch).
/// </summary>
/// <remarks>
/// Automatic mode watches the time re-ranking spends per row: a row read that took longer than
/// <see cref="FaultNanoseconds"/> on average came from the disk, so after two such queries in a row later queries
/// advise; while advising, one query in <see cref="ProbeEvery"/> reads without advice, and two such probes in a
/// row that read fast stop the advice.
/// </remarks>
internal sealed class ReadAhead
{
    /// <summary>Rows slower than this on average (per row, re-ranking) were read from the device, not memory.</summary>
    public const double FaultNanoseconds = 5_000;

    /// <summary>While advising, every this many queries one goes without, to notice when the data became resident.</summary>
    public const int ProbeEvery = 64;

    private static readonly double NanosecondsPerTick = 1e9 / Stopwatch.Frequency;
    private readonly bool? _forced;
    private volatile bool _advising;
    private int _queries;
    private int _againstInARow;

    /// <param name="forced">True: always advise; false: never; null: decide by measurement.</param>
    public ReadAhead(bool? forced = null)
    {
        _forced = MemoryAdvice.Available ? forced : false;
    }

    /// <summary>Whether this query should advise before reading (and then report through <see cref="Observe"/>).</summary>
    public bool ShouldAdvise()
    {
        if (_forced is { } forced) return forced;
        if (!_advising) return false;
        return Interlocked.Increment(ref _queries) % ProbeEvery != 0;
    }

    /// <summary>Reports how long re-ranking took to read and score <paramref name="rows"/> rows.</summary>
    public void Observe(bool advised, int rows, long ticks)
    {
        if (_forced != null || rows == 0 || advised) return;
        // Only unadvised reads measure the device: advised ones overlap and look fast either way. Two observations
        // in a row are needed to switch either way, so one preempted query (or one row that happened to be cached)
        // does not.
        bool slow = ticks * NanosecondsPerTick / rows > FaultNanoseconds;
        bool advising = _advising;
        if (slow == advising)
        {
            if (_againstInARow != 0) _againstInARow = 0;
            return;
        }
        if (++_againstInARow < 2) return;
        _againstInARow = 0;
        _advising = slow;
    }

    /// <summary>Whether queries are advising now (for tests and <c>Explain</c>).</summary>
    public bool Advising => _forced ?? _advising;
}
