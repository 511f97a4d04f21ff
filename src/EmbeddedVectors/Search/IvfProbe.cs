using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Storage;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Search;

/// <summary>Resolves a re-ranking label to the stored (unrotated) vector's encoded row, its id and how the row is encoded.</summary>
internal interface IRerankSource
{
    ReadOnlySpan<byte> Row(long label, out long id, out RowCodec rows);

    /// <summary>The row alone, to prefetch it before it is read.</summary>
    ReadOnlySpan<byte> RowAt(long label);

    /// <summary>Tells the kernel the row will be read soon, when it lives in a mapped file.</summary>
    void Advise(long label);
}

/// <summary>
/// One IVFPQ query in progress, shared by the in-memory index and the store: the probed cells, the query's
/// tables, and for each cell the distance table (8-bit codes) or quantised lookup table (fast-scan) that every
/// run of codes in that cell is scanned with, wherever the run is stored.
/// </summary>
internal ref struct IvfProbe
{
    private readonly IvfPqQuantizer _quantizer;
    private readonly ReadOnlySpan<float> _query;
    private readonly Span<long> _lists;
    private readonly Span<float> _cellDistances;
    private readonly Span<float> _queryTable;
    private readonly Span<float> _cellTable;
    private readonly Span<byte> _lut;
    private readonly bool _fastScan;
    private ReadOnlySpan<float> _table;
    private float _bias;
    private float _scale;

    /// <param name="quantizer">The trained quantizers.</param>
    /// <param name="query">The prepared (normalised for cosine) query, unrotated.</param>
    /// <param name="nprobe">Cells to probe.</param>
    /// <param name="fastScan">Codes are 4-bit fast-scan blocks rather than one byte a sub-quantizer.</param>
    public IvfProbe(IvfPqQuantizer quantizer, ReadOnlySpan<float> query, int nprobe, bool fastScan)
    {
        var scratch = SearchScratch.Current;
        _quantizer = quantizer;
        _fastScan = fastScan;
        _lut = fastScan ? scratch.Lut(quantizer.TableLength) : default;
        nprobe = Math.Min(nprobe, quantizer.NList);
        _lists = scratch.ProbeLists(nprobe);
        _cellDistances = scratch.ProbeDistances(nprobe);
        _queryTable = scratch.QueryTable(quantizer.TableLength);
        _cellTable = scratch.ListTable(quantizer.TableLength);
        _query = quantizer.QuantizerSpace(query, scratch.Rotated(quantizer.Dimension));
        Count = quantizer.Prepare(_query, _lists, _cellDistances, _queryTable);
    }

    /// <summary>Cells probed, nearest first.</summary>
    public int Count { get; }

    /// <summary>The cell probed <paramref name="p"/>-th.</summary>
    public readonly int List(int p) => (int)_lists[p];

    /// <summary>Builds the tables of the <paramref name="p"/>-th probed cell; the next scans use them.</summary>
    public void EnterCell(int p)
    {
        _table = _quantizer.CellTable(_query, (int)_lists[p], _cellDistances[p], _queryTable, _cellTable, out _bias);
        if (_fastScan)
        {
            FastScan.QuantizeTable(_table, _quantizer.Pq.SubQuantizers, _lut, out _scale, out float offset);
            _bias += offset;
        }
    }

    /// <summary>Scans a run of <paramref name="count"/> codes of the current cell.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Scan<TCandidates>(ReadOnlySpan<byte> codes, int count, ref TCandidates candidates, ref TopKHeap heap)
        where TCandidates : IScanCandidates, allows ref struct
    {
        int m = _quantizer.Pq.SubQuantizers;
        if (_fastScan) FastScan.Scan(_lut, m, codes, count, _bias, _scale, ref candidates, ref heap);
        else AdcScan.Scan(_table, m, codes, count, _bias, ref candidates, ref heap);
    }

    /// <summary>
    /// Where the scan collects candidates: straight into the caller's top-k storage, or, when re-ranking, into a
    /// shortlist of max(<paramref name="rerank"/>, k) entries in per-thread scratch.
    /// </summary>
    public static TopKHeap CandidateHeap(int rerank, Span<float> distances, Span<long> ids)
    {
        if (rerank <= 0) return new TopKHeap(distances, ids);
        var scratch = SearchScratch.Current;
        int size = Math.Max(rerank, ids.Length);
        return new TopKHeap(scratch.ShortlistDistances(size), scratch.ShortlistLabels(size));
    }

    private static unsafe void Prefetch(ReadOnlySpan<byte> row)
    {
        if (!Sse.IsSupported) return;
        fixed (byte* start = row)
        {
            for (int offset = 0; offset < row.Length; offset += 64) Sse.Prefetch0(start + offset);
        }
    }

    /// <summary>
    /// Re-scores a shortlist (its labels understood by <paramref name="source"/>) by exact distance to the
    /// unrotated <paramref name="query"/> into the final top-k storage; returns the hit count.
    /// </summary>
    /// <remarks>
    /// With <paramref name="advise"/>, the kernel is first told of every row's pages (so rows on disk are read
    /// together); without, the rows' read time is reported to <paramref name="readAhead"/> so it can tell whether
    /// they come from the disk.
    /// </remarks>
    public static int Rerank<TSource>(ReadOnlySpan<float> query, Metric rankingMetric, ref TopKHeap shortlist, ref TSource source,
        Span<float> distances, Span<long> ids, ReadAhead? readAhead = null, bool advise = false)
        where TSource : IRerankSource, allows ref struct
    {
        // Every shortlisted row is scored again, so the shortlist's own order does not matter.
        int candidates = shortlist.TakeUnordered();
        var labels = SearchScratch.Current.ShortlistLabels(candidates);
        if (advise)
            for (int i = 0; i < candidates; i++) source.Advise(labels[i]);
        long started = readAhead != null ? Stopwatch.GetTimestamp() : 0;
        var final = new TopKHeap(distances, ids);
        // Shortlisted rows are scattered over memory (or a mapped file): fetching a few rows ahead overlaps their
        // cache misses with the distance computations, which otherwise wait on each row in turn.
        const int ahead = 8;
        for (int i = 0; i < Math.Min(ahead, candidates); i++) Prefetch(source.RowAt(labels[i]));
        for (int i = 0; i < candidates; i++)
        {
            if (i + ahead < candidates) Prefetch(source.RowAt(labels[i + ahead]));
            var row = source.Row(labels[i], out long id, out var rows);
            // The row stays encoded: the kernels decode it in registers.
            final.Push(rows.RankingDistance(rankingMetric, query, row), id);
        }
        readAhead?.Observe(advise, candidates, Stopwatch.GetTimestamp() - started);
        return final.SortAscending();
    }
}
