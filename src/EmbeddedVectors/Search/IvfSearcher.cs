using System.Runtime.CompilerServices;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Lists;
using EmbeddedVectors.Storage;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Search;

/// <summary>What one search asks for, whatever it searches: cells, shortlist size and which ids may be returned.</summary>
/// <param name="NProbe">Cells to probe.</param>
/// <param name="Rerank">Shortlist re-ranked by exact distance (0: no re-ranking).</param>
/// <param name="Filter">Only ids for which this returns true are returned; null: all.</param>
internal readonly record struct SearchRequest(int NProbe, int Rerank, Func<long, bool>? Filter);

/// <summary>
/// The one IVFPQ search path, for the in-memory index and the store alike: probe the nearest cells, scan every
/// source's run of each probed cell into one heap (the shortlist when re-ranking), then re-rank the shortlist by
/// exact distance. Sources are <see cref="IInvertedLists"/>: the in-memory lists, the write buffer, segments.
/// </summary>
internal static class IvfSearcher
{
    /// <summary>Searches <paramref name="sources"/> for the prepared <paramref name="query"/>; returns the number of hits written.</summary>
    public static int Search(IvfPqQuantizer quantizer, bool fastScan, ReadOnlySpan<float> query, ReadOnlySpan<IInvertedLists> sources,
        in SearchRequest request, Span<float> distances, Span<long> ids)
    {
        var probe = new IvfProbe(quantizer, query, request.NProbe, fastScan);
        bool rerank = request.Rerank > 0;
        var heap = IvfProbe.CandidateHeap(request.Rerank, distances, ids);
        for (int p = 0; p < probe.Count; p++)
        {
            int cell = probe.List(p);
            bool entered = false;
            for (int s = 0; s < sources.Length; s++)
            {
                var run = sources[s].Cell(cell);
                if (run.Count == 0) continue;
                if (!entered)
                {
                    probe.EnterCell(p);
                    entered = true;
                }
                var candidates = new RunCandidates(run, request.Filter, rerank, ShortlistLabel.SourceBase(s));
                probe.Scan(run.Codes, run.Count, ref candidates, ref heap);
            }
        }
        if (!rerank) return heap.SortAscending();
        var rows = new SourceRows(sources);
        return IvfProbe.Rerank(query, quantizer.RankingMetric, ref heap, ref rows, distances, ids);
    }

    /// <summary>Exact search over cell 0 of <paramref name="source"/> (an untrained store's buffer).</summary>
    public static int SearchExact(Metric rankingMetric, ReadOnlySpan<float> query, IInvertedLists source, Func<long, bool>? filter,
        Span<float> distances, Span<long> ids)
    {
        var heap = new TopKHeap(distances, ids);
        var run = source.Cell(0);
        var rows = source.Rows!;
        for (int i = 0; i < run.Count; i++)
        {
            if (run.Liveness.IsDeleted(i)) continue;
            float d = rows.RankingDistance(rankingMetric, query, source.Row(run.Position(i), out long id));
            if (d <= heap.Threshold && (filter == null || filter(id))) heap.Push(d, id);
        }
        return heap.SortAscending();
    }

    /// <summary>
    /// A run's candidates: skip deleted and filtered entries; label them by id, or when re-ranking by where their
    /// row is (<see cref="ShortlistLabel"/>).
    /// </summary>
    private readonly ref struct RunCandidates(CellRun run, Func<long, bool>? filter, bool byPosition, long labelBase) : IScanCandidates
    {
        private readonly CellRun _run = run;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryAccept(int index, out long label)
        {
            long id = _run.Ids[index];
            label = byPosition ? labelBase | _run.Position(index) : id;
            return !_run.Liveness.IsDeleted(index) && (filter == null || filter(id));
        }
    }

    /// <summary>Resolves shortlist labels to rows through the source they name.</summary>
    private readonly ref struct SourceRows(ReadOnlySpan<IInvertedLists> sources) : IRerankSource
    {
        private readonly ReadOnlySpan<IInvertedLists> _sources = sources;

        public ReadOnlySpan<byte> Row(long label, out long id, out RowCodec rows)
        {
            var source = _sources[ShortlistLabel.Source(label)];
            rows = source.Rows!;
            return source.Row(ShortlistLabel.Position(label), out id);
        }
    }
}

/// <summary>A shortlisted candidate's label while re-ranking: its source's index (16 bits) above its position there (48 bits).</summary>
internal static class ShortlistLabel
{
    private const int SourceShift = 48;

    public static long SourceBase(int source) => (long)source << SourceShift;

    public static int Source(long label) => (int)(label >>> SourceShift);

    public static long Position(long label) => label & ((1L << SourceShift) - 1);
}
