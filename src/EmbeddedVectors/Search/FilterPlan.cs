using EmbeddedVectors.Kernels;
using EmbeddedVectors.Lists;

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
/// s, cell c) starts at bit <c>RunBase(s, c)</c>. Built by evaluating the filter against the field columns of
/// each live entry, which also counts the live matches: the selectivity estimate of the plan, and exact.
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

    public static MatchBitmap Build(ReadOnlySpan<IInvertedLists> sources, int cells, FilterNode where, Func<long, bool>? filter)
    {
        var scratch = SearchScratch.Current;
        var bases = scratch.RunBases(sources.Length * cells);
        long total = 0;
        for (int s = 0; s < sources.Length; s++)
            for (int c = 0; c < cells; c++)
            {
                bases[s * cells + c] = total;
                total += sources[s].Cell(c).Count;
            }
        var bits = scratch.MatchBits((int)((total + 63) >> 6));
        bits.Clear();
        long count = 0;
        for (int s = 0; s < sources.Length; s++)
        {
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

    /// <summary>Scores every match exactly from its row into the final top-k; returns the hit count.</summary>
    public int ScanExact(ReadOnlySpan<IInvertedLists> sources, Metric rankingMetric, ReadOnlySpan<float> query, Span<float> distances, Span<long> ids)
    {
        var heap = new TopKHeap(distances, ids);
        for (int s = 0; s < sources.Length; s++)
        {
            var rows = sources[s].Rows!;
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
