using System.Buffers;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Search;

namespace EmbeddedVectors;

public sealed partial class EmbeddedVectorStore
{
    private const int StackLimit = 1024;

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
        => Search(query, ids, distances, options, null);

    /// <summary>Runs a search and reports the plan it chose and its counts (what <c>ev search --explain</c> prints).</summary>
    public SearchPlanInfo Explain(ReadOnlySpan<float> query, int k, StoreSearchOptions? options = null)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1.");
        var info = new SearchPlanInfo();
        Search(query, new long[k], new float[k], options, info);
        return info;
    }

    private int Search(ReadOnlySpan<float> query, Span<long> ids, Span<float> distances, StoreSearchOptions? options, SearchPlanInfo? stats)
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

        // First, so a filter may name a field another process added since the last look.
        RefreshIfChanged();
        // Compiling checks field names and value types; it allocates a few small objects per search with a filter.
        var where = options.Where?.Compile(_manifest.Fields);
        float[]? rented = null;
        Span<float> prepared = Dimension <= StackLimit ? stackalloc float[Dimension] : (rented = ArrayPool<float>.Shared.Rent(Dimension)).AsSpan(0, Dimension);
        try
        {
            query.CopyTo(prepared);
            if (Metric == Metric.Cosine) VectorKernels.Normalize(prepared);
            int found;
            var snapshot = AcquireSnapshot();
            try
            {
                found = snapshot.Quantizer == null
                    ? IvfSearcher.SearchExact(Metric.RankingMetric(), prepared, snapshot.Buffer, options.Filter, distances, ids, where, stats)
                    : IvfSearcher.Search(snapshot.Quantizer, FastScanCodes, prepared, snapshot.Sources,
                        new SearchRequest(options.NProbe, options.RerankFor(_manifest.StoreVectors), options.Filter, where, options.MaxProbes, options.ExactScanBelow, stats, _readAhead),
                        distances, ids);
            }
            finally { snapshot.Release(); }
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
}
