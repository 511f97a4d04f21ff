using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;
using EmbeddedVectors.IO;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Lists;
using EmbeddedVectors.Storage;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Search;

/// <summary>What one search asks for, whatever it searches: cells, shortlist size and which ids may be returned.</summary>
/// <param name="NProbe">Cells to probe.</param>
/// <param name="Rerank">Shortlist re-ranked by exact distance (0: no re-ranking).</param>
/// <param name="Filter">Only ids for which this returns true are returned; null: all.</param>
/// <param name="Where">A compiled field filter; null: none.</param>
/// <param name="MaxProbes">With a filter, the most cells probed while fewer than k candidates passed (0: every cell).</param>
/// <param name="ExactScanBelow">With <paramref name="Where"/>, score the matches exactly when at most this many (0: never).</param>
/// <param name="Stats">Filled with the plan and counts when not null.</param>
/// <param name="ReadAhead">Whether to advise the kernel of the pages a search of mapped files will read; null: never.</param>
internal readonly record struct SearchRequest(int NProbe, int Rerank, Func<long, bool>? Filter, FilterNode? Where = null, int MaxProbes = 0,
    int ExactScanBelow = 0, SearchPlanInfo? Stats = null, ReadAhead? ReadAhead = null);

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
        // The plan: with a field filter, count its live matches m first (a bitmap over every source); few enough
        // are scored exactly, otherwise cells are probed nearest first, past nprobe until min(k, m) candidates
        // passed. An opaque id delegate has no count: probing goes on until k candidates passed.
        long wanted = ids.Length;
        var stats = request.Stats;
        bool useBits = request.Where != null;
        var matches = useBits ? MatchBitmap.Build(sources, quantizer.NList, request.Where!, request.Filter) : default;
        if (useBits)
        {
            if (stats != null) stats.Matches = matches.Count;
            if (matches.Count == 0 || (matches.Count <= request.ExactScanBelow && AllHaveRows(sources)))
            {
                if (stats != null) (stats.Plan, stats.Candidates) = ("exact", matches.Count);
                return matches.Count == 0 ? 0 : matches.ScanExact(sources, quantizer.RankingMetric, query, distances, ids);
            }
            wanted = Math.Min(wanted, matches.Count);
        }
        bool expand = useBits || request.Filter != null;
        int limit = !expand ? request.NProbe : request.MaxProbes > 0 ? Math.Max(request.NProbe, request.MaxProbes) : quantizer.NList;
        var probe = new IvfProbe(quantizer, query, limit, fastScan);
        bool advise = request.ReadAhead?.ShouldAdvise() == true;
        if (advise) AdviseCells(sources, ref probe, Math.Min(request.NProbe, probe.Count));
        bool rerank = request.Rerank > 0;
        var heap = IvfProbe.CandidateHeap(request.Rerank, distances, ids);
        long scored = 0, passed = 0;
        int p = 0;
        for (; p < probe.Count; p++)
        {
            if (p >= request.NProbe && heap.Count >= wanted && (!useBits || p >= WidenedProbes(request.NProbe, scored, passed))) break;
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
                var candidates = useBits
                    ? new RunCandidates(run, null, rerank, ShortlistLabel.SourceBase(s), matches.Bits, matches.RunBase(s, cell))
                    : new RunCandidates(run, request.Filter, rerank, ShortlistLabel.SourceBase(s), default, -1);
                probe.Scan(run.Codes, run.Count, ref candidates, ref heap);
                scored += run.Count;
                if (useBits) passed += matches.CountRun(s, cell, run.Count);
            }
        }
        if (stats != null) (stats.Plan, stats.CellsProbed, stats.Candidates) = (expand ? "probe" : "unfiltered", p, scored);
        if (!rerank) return heap.SortAscending();
        var rows = new SourceRows(sources);
        return IvfProbe.Rerank(query, quantizer.RankingMetric, ref heap, ref rows, distances, ids, request.ReadAhead, advise);
    }

    /// <summary>Tells the kernel which mapped code and id pages the first <paramref name="cells"/> probes will read.</summary>
    private static void AdviseCells(ReadOnlySpan<IInvertedLists> sources, ref IvfProbe probe, int cells)
    {
        foreach (var source in sources)
        {
            if (!source.IsMapped) continue;
            for (int p = 0; p < cells; p++)
            {
                var run = source.Cell(probe.List(p));
                MemoryAdvice.WillNeed(run.Codes);
                // Re-ranking reads each shortlisted entry's id from its cell's run too.
                MemoryAdvice.WillNeed(MemoryMarshal.AsBytes(run.Ids));
            }
        }
    }

    /// <summary>
    /// How a field filter widens probing: the filtered top-k of entries that pass at rate r near the query lie
    /// about as far out as the unfiltered top-k/r, and reaching them takes more cells. Measured on the public set
    /// (docs/benchmarks-filters.md), recall at nprobe × (1/r)^0.6 cells matched the unfiltered recall at nprobe
    /// from r = 10% to 100%; the exponent is below 1 because neighbours of growing rank spread over fewer new cells.
    /// </summary>
    internal const double FilteredProbeExponent = 0.6;

    /// <summary>Cells to probe, given <paramref name="passed"/> of the <paramref name="scanned"/> entries of the cells probed so far passed (their local rate).</summary>
    private static double WidenedProbes(int nprobe, long scanned, long passed)
        => passed == 0 ? double.PositiveInfinity : nprobe * Math.Pow((double)scanned / passed, FilteredProbeExponent);

    private static bool AllHaveRows(ReadOnlySpan<IInvertedLists> sources)
    {
        foreach (var source in sources)
            if (!source.HasRows) return false;
        return true;
    }

    /// <summary>Exact search over cell 0 of <paramref name="source"/> (an untrained store's buffer).</summary>
    public static int SearchExact(Metric rankingMetric, ReadOnlySpan<float> query, IInvertedLists source, Func<long, bool>? filter,
        Span<float> distances, Span<long> ids, FilterNode? where = null, SearchPlanInfo? stats = null)
    {
        if (where != null)
        {
            ReadOnlySpan<IInvertedLists> one = [source];
            var matches = MatchBitmap.Build(one, 1, where, filter);
            if (stats != null) (stats.Plan, stats.Matches, stats.Candidates) = ("exact", matches.Count, matches.Count);
            return matches.ScanExact(one, rankingMetric, query, distances, ids);
        }
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
    /// <remarks>With a match bitmap (<paramref name="bitBase"/> ≥ 0) an entry passes when its bit is set: the bitmap already excludes deleted entries.</remarks>
    private readonly ref struct RunCandidates(CellRun run, Func<long, bool>? filter, bool byPosition, long labelBase, ReadOnlySpan<ulong> bits, long bitBase)
        : IScanCandidates
    {
        private readonly CellRun _run = run;
        private readonly ReadOnlySpan<ulong> _bits = bits;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryAccept(int index, out long label)
        {
            if (bitBase >= 0)
            {
                label = byPosition ? labelBase | _run.Position(index) : _run.Ids[index];
                return MatchBitmap.IsSet(_bits, bitBase + index);
            }
            if (byPosition && filter == null)
            {
                // The common re-ranking case: the id is not needed until the shortlist is resolved.
                label = labelBase | _run.Position(index);
                return !_run.Liveness.IsDeleted(index);
            }
            long id = _run.Ids[index];
            label = byPosition ? labelBase | _run.Position(index) : id;
            return !_run.Liveness.IsDeleted(index) && (filter == null || filter(id));
        }
    }

    /// <summary>Resolves shortlist labels to rows through the source they name.</summary>
    private ref struct SourceRows(ReadOnlySpan<IInvertedLists> sources) : IRerankSource
    {
        private readonly ReadOnlySpan<IInvertedLists> _sources = sources;
        // Consecutive shortlist entries mostly come from one source (always, for the in-memory index): its codec is
        // looked up once per run of them rather than once per row.
        private int _codecSource = -1;
        private RowCodec? _codec;

        public ReadOnlySpan<byte> Row(long label, out long id, out RowCodec rows)
        {
            int index = ShortlistLabel.Source(label);
            var source = _sources[index];
            if (index != _codecSource)
            {
                _codec = source.Rows!;
                _codecSource = index;
            }
            rows = _codec!;
            return source.Row(ShortlistLabel.Position(label), out id);
        }

        public readonly ReadOnlySpan<byte> RowAt(long label) => _sources[ShortlistLabel.Source(label)].RowAt(ShortlistLabel.Position(label));

        public readonly void Advise(long label)
        {
            var source = _sources[ShortlistLabel.Source(label)];
            if (source.IsMapped) MemoryAdvice.WillNeed(source.RowAt(ShortlistLabel.Position(label)));
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
