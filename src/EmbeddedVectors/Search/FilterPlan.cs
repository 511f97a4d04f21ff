using System.Numerics;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Lists;
using EmbeddedVectors.Storage;

namespace EmbeddedVectors.Search;

/// <summary>What one filtered search did, for <c>ev search --explain</c> and tests.</summary>
public sealed class SearchPlanInfo
{
    /// <summary><c>unfiltered</c>, <c>exact</c> (matches scored from their rows) or <c>probe</c> (cells nearest first, expanded until k candidates passed).</summary>
    public string Plan { get; internal set; } = "unfiltered";

    /// <summary>Live entries the filter matches, or −1 when unknown (an opaque id delegate only).</summary>
    public long Matches { get; internal set; } = -1;

    /// <summary>Cells probed (0 for the exact plan).</summary>
    public int CellsProbed { get; internal set; }

    /// <summary>Candidates that passed the filter and were scored.</summary>
    public long Candidates { get; internal set; }

    /// <summary>One line: plan and counts.</summary>
    public override string ToString() => $"plan={Plan} matches={Matches} cells_probed={CellsProbed} candidates={Candidates}";
}

/// <summary>
/// The matches of a <see cref="FilterNode"/> over every source of a search, as one bitmap: run <c>(s, c)</c> (source
/// s, cell c) starts at bit <c>RunBase(s, c)</c>. Each source starts on a word; a sealed segment's bits are its
/// positions (its cached field matches are copied in whole words), other sources' runs follow one another. Built by
/// evaluating the filter against the field columns (or taking a segment's cached matches), then clearing deleted
/// entries, which also counts the live matches: the selectivity estimate of the plan, and exact.
/// </summary>
internal readonly ref struct MatchBitmap
{
    private readonly Span<ulong> _bits;
    private readonly Span<long> _bases;
    private readonly int _cells;

    private MatchBitmap(Span<ulong> bits, Span<long> bases, int cells, long count)
    {
        _bits = bits;
        _bases = bases;
        _cells = cells;
        Count = count;
    }

    /// <summary>Live entries that match.</summary>
    public long Count { get; }

    public long RunBase(int source, int cell) => _bases[source * _cells + cell];

    public ReadOnlySpan<ulong> Bits => _bits;

    public static bool IsSet(ReadOnlySpan<ulong> bits, long bit) => (bits[(int)(bit >> 6)] & (1UL << (int)(bit & 63))) != 0;

    /// <summary>Matches in the run of <paramref name="count"/> entries of source <paramref name="source"/>, cell <paramref name="cell"/>.</summary>
    public long CountRun(int source, int cell, int count)
    {
        long first = RunBase(source, cell), end = first + count;
        long matches = 0;
        for (long bit = first; bit < end;)
        {
            int word = (int)(bit >> 6), offset = (int)(bit & 63);
            int take = (int)Math.Min(64 - offset, end - bit);
            ulong mask = take == 64 ? ulong.MaxValue : ((1UL << take) - 1) << offset;
            matches += BitOperations.PopCount(_bits[word] & mask);
            bit += take;
        }
        return matches;
    }

    private static int WordsOf(long bits) => (int)((bits + 63) >> 6);

    public static MatchBitmap Build(ReadOnlySpan<IInvertedLists> sources, int cells, FilterNode where, Func<long, bool>? filter)
    {
        var scratch = SearchScratch.Current;
        var bases = scratch.RunBases(sources.Length * cells);
        long total = 0;
        for (int s = 0; s < sources.Length; s++)
        {
            total = (total + 63) & ~63L;
            if (sources[s] is SegmentView view)
            {
                for (int c = 0; c < cells; c++) bases[s * cells + c] = total + view.Segment.ListStart(c);
                total += view.Segment.Count;
                continue;
            }
            for (int c = 0; c < cells; c++)
            {
                bases[s * cells + c] = total;
                total += sources[s].Cell(c).Count;
            }
        }
        var bits = scratch.MatchBits(WordsOf(total));
        bits.Clear();
        // A user delegate may answer differently from one search to the next: nothing is cached with one.
        string? key = filter == null ? where.CacheKey() : null;
        long count = 0;
        for (int s = 0; s < sources.Length; s++)
        {
            if (sources[s] is SegmentView view)
            {
                long first = bases[s * cells] - view.Segment.ListStart(0);
                count += MatchSegment(view, where, filter, key, bits.Slice((int)(first >> 6), WordsOf(view.Segment.Count)));
                continue;
            }
            var fields = sources[s] as IFieldLists;
            for (int c = 0; c < cells; c++)
            {
                var run = sources[s].Cell(c);
                if (run.Count == 0) continue;
                long start = 0;
                var columns = fields?.Columns(c, out start);
                long bit = bases[s * cells + c];
                for (int i = 0; i < run.Count; i++, bit++)
                {
                    if (run.Liveness.IsDeleted(i)) continue;
                    long id = run.Ids[i];
                    if (!where.Match(columns, (int)(start + i), id) || (filter != null && !filter(id))) continue;
                    bits[(int)(bit >> 6)] |= 1UL << (int)(bit & 63);
                    count++;
                }
            }
        }
        return new MatchBitmap(bits, bases, cells, count);
    }

    /// <summary>
    /// Sets the live matches of one sealed segment in <paramref name="target"/> (one bit a position) and counts
    /// them: from the segment's cache when <paramref name="key"/> is there, else evaluated (and cached when keyed).
    /// </summary>
    private static long MatchSegment(SegmentView view, FilterNode where, Func<long, bool>? filter, string? key, Span<ulong> target)
    {
        var segment = view.Segment;
        var deleted = view.Deleted;
        bool anyDeleted = deleted.DeletedCount > 0;
        var cached = key == null ? null : view.Owner.Matches.Find(key);
        if (cached != null) cached.CopyTo(target);
        else
        {
            // Keyed filters are evaluated a column at a time over every entry, deleted or not (cached bits serve
            // later views, which delete more); the deletions are applied below. Unkeyed ones (with a delegate) go
            // entry by entry and skip deleted entries, so that a delegate never sees them.
            var fresh = key != null && view.Owner.Matches.SeenBefore(key) ? new ulong[target.Length] : null;
            var into = fresh ?? target;
            var columns = view.Owner.Fields;
            if (key != null) where.MatchAll(columns, segment.AllIds, into);
            else for (long position = 0; position < segment.Count; position++)
            {
                if (anyDeleted && deleted.IsDeleted(position)) continue;
                long id = segment.IdAt(position);
                if (where.Match(columns, (int)position, id) && (filter == null || filter(id)))
                    into[(int)(position >> 6)] |= 1UL << (int)(position & 63);
            }
            if (fresh != null)
            {
                view.Owner.Matches.Add(key!, fresh);
                fresh.CopyTo(target);
            }
        }
        long count = 0;
        if (!anyDeleted)
        {
            foreach (ulong word in target) count += BitOperations.PopCount(word);
            return count;
        }
        var words = deleted.Words;
        for (int w = 0; w < target.Length; w++)
        {
            target[w] &= ~(ulong)words[w];
            count += BitOperations.PopCount(target[w]);
        }
        return count;
    }

    /// <summary>Scores every match exactly from its row into the final top-k; returns the hit count.</summary>
    public int ScanExact(ReadOnlySpan<IInvertedLists> sources, Metric rankingMetric, ReadOnlySpan<float> query, Span<float> distances, Span<long> ids)
    {
        var heap = new TopKHeap(distances, ids);
        for (int s = 0; s < sources.Length; s++)
        {
            var rows = sources[s].Rows!;
            if (sources[s] is SegmentView view)
            {
                // Positions are bits: walk the set ones, a word at a time.
                long first = RunBase(s, 0) - view.Segment.ListStart(0);
                var words = _bits.Slice((int)(first >> 6), WordsOf(view.Segment.Count));
                for (int w = 0; w < words.Length; w++)
                {
                    for (ulong word = words[w]; word != 0; word &= word - 1)
                    {
                        long position = ((long)w << 6) + BitOperations.TrailingZeroCount(word);
                        var row = view.Row(position, out long id);
                        float d = rows.RankingDistance(rankingMetric, query, row);
                        if (d <= heap.Threshold) heap.Push(d, id);
                    }
                }
                continue;
            }
            for (int c = 0; c < _cells; c++)
            {
                var run = sources[s].Cell(c);
                long bit = RunBase(s, c);
                for (int i = 0; i < run.Count; i++)
                {
                    if (!IsSet(_bits, bit + i)) continue;
                    var row = sources[s].Row(run.Position(i), out long id);
                    float d = rows.RankingDistance(rankingMetric, query, row);
                    if (d <= heap.Threshold) heap.Push(d, id);
                }
            }
        }
        return heap.SortAscending();
    }
}
