using System.Buffers;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Search;
using EmbeddedVectors.Storage;

namespace EmbeddedVectors;

public sealed partial class EmbeddedVectorStore
{
    private const int StackLimit = 1024;
    private const int SourceShift = 48;
    private const int BufferListShift = 28;

    /// <summary>The <paramref name="k"/> nearest entries to <paramref name="query"/>, nearest first.</summary>
    /// <exception cref="ArgumentException">The query has the wrong length or a NaN/infinite value.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is not positive.</exception>
    public IReadOnlyList<StoreHit> Search(ReadOnlySpan<float> query, int k, StoreSearchOptions? options = null)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1.");
        var ids = new long[k];
        var distances = new float[k];
        int found = Search(query, ids, distances, options);
        var hits = new StoreHit[found];
        for (int i = 0; i < found; i++) hits[i] = new StoreHit(this, ids[i], distances[i]);
        return hits;
    }

    /// <summary>Allocation-free search into caller storage (k = their length); returns the number of hits.</summary>
    public int Search(ReadOnlySpan<float> query, Span<long> ids, Span<float> distances, StoreSearchOptions? options = null)
    {
        ThrowIfDisposed();
        if (ids.Length != distances.Length) throw new ArgumentException("ids and distances differ in length.", nameof(distances));
        if (ids.Length < 1) throw new ArgumentOutOfRangeException(nameof(ids), ids.Length, "k must be at least 1.");
        options ??= StoreSearchOptions.Default;
        options.Validate();
        if (query.Length != Dimension)
            throw new ArgumentException($"The query has {query.Length} values; this store holds {Dimension}-dimensional vectors.", nameof(query));
        VectorChecks.ThrowIfNotFinite(query, Dimension, nameof(query));
        if (options.Rerank > 0 && !_manifest.StoreVectors)
            throw new InvalidOperationException("Re-ranking needs the full vectors, but this store was created with StoreVectors = false.");

        float[]? rented = null;
        Span<float> prepared = Dimension <= StackLimit ? stackalloc float[Dimension] : (rented = ArrayPool<float>.Shared.Rent(Dimension)).AsSpan(0, Dimension);
        try
        {
            query.CopyTo(prepared);
            if (Metric == Metric.Cosine) VectorKernels.Normalize(prepared);
            int found;
            _state.EnterReadLock();
            try
            {
                found = _quantizer == null
                    ? SearchExactLocked(prepared, ids, distances, options)
                    : SearchCodesLocked(prepared, ids, distances, options);
            }
            finally { _state.ExitReadLock(); }
            if (Metric == Metric.Cosine)
                for (int i = 0; i < found; i++) distances[i] *= 0.5f; // ‖x − y‖² = 2 − 2 cos for unit vectors
            return found;
        }
        finally
        {
            if (rented != null) ArrayPool<float>.Shared.Return(rented);
        }
    }

    /// <summary>Searches many queries (row-major) on <paramref name="threads"/> threads (0: every core).</summary>
    public BatchSearchResult SearchBatch(ReadOnlySpan<float> queries, int k, StoreSearchOptions? options = null, int threads = 0)
    {
        ThrowIfDisposed();
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1.");
        if (threads < 0) throw new ArgumentOutOfRangeException(nameof(threads), threads, "Use 0 for every core, or a positive count.");
        int n = CheckVectors(queries, nameof(queries));
        var result = new BatchSearchResult(n, k);
        Array.Fill(result.Ids, -1L);
        Array.Fill(result.Distances, float.PositiveInfinity);
        var copy = queries.ToArray();
        Parallel.For(0, n, Parallelism.Options(threads), q =>
            Search(copy.AsSpan(q * Dimension, Dimension), result.Ids.AsSpan(q * k, k), result.Distances.AsSpan(q * k, k), options));
        return result;
    }

    private int SearchExactLocked(ReadOnlySpan<float> query, Span<long> ids, Span<float> distances, StoreSearchOptions options)
    {
        var rankingMetric = Metric == Metric.InnerProduct ? Metric.InnerProduct : Metric.L2;
        var heap = new TopKHeap(distances, ids);
        var list = _buffer.Lists[0];
        var deleted = list.Deleted;
        var listIds = list.Ids;
        for (int i = 0; i < list.Count; i++)
        {
            if (deleted[i] != 0) continue;
            float d = VectorKernels.RankingDistance(rankingMetric, query, list.Vector(i));
            if (d <= heap.Threshold && (options.Filter == null || options.Filter(listIds[i]))) heap.Push(d, listIds[i]);
        }
        return heap.SortAscending();
    }

    private int SearchCodesLocked(ReadOnlySpan<float> query, Span<long> ids, Span<float> distances, StoreSearchOptions options)
    {
        var quantizer = _quantizer!;
        var probe = new IvfProbe(quantizer, query, options.NProbe, FastScanCodes);
        bool rerank = options.Rerank > 0;
        var heap = IvfProbe.CandidateHeap(options.Rerank, distances, ids);
        for (int p = 0; p < probe.Count; p++)
        {
            int list = probe.List(p);
            probe.EnterCell(p);
            var bufferList = _buffer.Lists[list];
            if (bufferList.Count > 0)
            {
                var candidates = new BufferCandidates(bufferList.Ids, bufferList.Deleted, options.Filter, rerank, (long)list << BufferListShift);
                probe.Scan(bufferList.Codes, bufferList.Count, ref candidates, ref heap);
            }
            for (int s = 0; s < _segments.Count; s++)
            {
                var segment = _segments[s];
                int count = segment.Segment.ListCount(list);
                if (count == 0) continue;
                long start = segment.Segment.ListStart(list);
                var candidates = new SegmentCandidates(segment.Segment.Ids(list), segment.Deleted, start, options.Filter, rerank, ((long)s + 1) << SourceShift);
                probe.Scan(segment.Segment.Codes(list), count, ref candidates, ref heap);
            }
        }
        if (!rerank) return heap.SortAscending();
        var source = new StoredVectors(this);
        return IvfProbe.Rerank(query, quantizer.RankingMetric, ref heap, ref source, distances, ids);
    }

    /// <summary>Resolves shortlist labels (source &lt;&lt; 48 | position; the write buffer is source 0) to vectors and ids.</summary>
    private readonly struct StoredVectors(EmbeddedVectorStore store) : IRerankSource
    {
        public ReadOnlySpan<float> Vector(long label, out long id)
        {
            int source = (int)(label >> SourceShift);
            long rest = label & ((1L << SourceShift) - 1);
            if (source == 0)
            {
                var list = store._buffer.Lists[(int)(rest >> BufferListShift)];
                int position = (int)(rest & ((1L << BufferListShift) - 1));
                id = list.Ids[position];
                return list.Vector(position);
            }
            var segment = store._segments[source - 1].Segment;
            id = segment.IdAt(rest);
            return segment.VectorAt(rest);
        }
    }

    /// <summary>Write-buffer candidates: skip deleted and filtered entries; label by id, or by position for re-ranking.</summary>
    private readonly ref struct BufferCandidates(ReadOnlySpan<long> ids, ReadOnlySpan<byte> deleted, Func<long, bool>? filter, bool byPosition, long labelBase)
        : IScanCandidates
    {
        private readonly ReadOnlySpan<long> _ids = ids;
        private readonly ReadOnlySpan<byte> _deleted = deleted;

        public bool TryAccept(int index, out long label)
        {
            long id = _ids[index];
            label = byPosition ? labelBase | (uint)index : id;
            return _deleted[index] == 0 && (filter == null || filter(id));
        }
    }

    /// <summary>Segment candidates: skip deleted and filtered entries; label by id, or by position for re-ranking.</summary>
    private readonly ref struct SegmentCandidates(ReadOnlySpan<long> ids, DeletionBitmap deleted, long start, Func<long, bool>? filter, bool byPosition, long labelBase)
        : IScanCandidates
    {
        private readonly ReadOnlySpan<long> _ids = ids;

        public bool TryAccept(int index, out long label)
        {
            long id = _ids[index];
            label = byPosition ? labelBase | (start + index) : id;
            return !deleted.IsDeleted(start + index) && (filter == null || filter(id));
        }
    }
}
