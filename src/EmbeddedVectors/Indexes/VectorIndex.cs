using System.Buffers;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Search;

namespace EmbeddedVectors.Indexes;

/// <summary>
/// An in-memory nearest-neighbour index. Every public entry point checks its arguments (dimension, finiteness,
/// k), normalises vectors for <see cref="Metric.Cosine"/>, and converts internal ranking distances to reported
/// ones, so the subclasses only implement the algorithm.
/// </summary>
/// <remarks>
/// Searches may run on many threads at once. Training and adding must not overlap with anything else on the same
/// index. Ids are not checked for uniqueness: the on-disk store handles replacement.
/// </remarks>
public abstract class VectorIndex
{
    private const int StackLimit = 1024;

    /// <summary>Creates an index of vectors of <paramref name="dimension"/> values compared by <paramref name="metric"/>.</summary>
    protected VectorIndex(int dimension, Metric metric)
    {
        if (dimension < 1) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "The dimension must be positive.");
        if (!Enum.IsDefined(metric)) throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown metric.");
        Dimension = dimension;
        Metric = metric;
    }

    /// <summary>Length of every vector.</summary>
    public int Dimension { get; }

    /// <summary>How nearness is measured.</summary>
    public Metric Metric { get; }

    /// <summary>Vectors added so far.</summary>
    public abstract long Count { get; }

    /// <summary>False until <see cref="Train"/> has run, for the index kinds that learn from data.</summary>
    public abstract bool IsTrained { get; }

    /// <summary>The metric the algorithm ranks by: cosine becomes L2 on normalised vectors.</summary>
    private protected Metric RankingMetric => Metric.RankingMetric();

    /// <summary>Learns the index's quantizers from <paramref name="vectors"/> (row-major, whole vectors).</summary>
    public void Train(ReadOnlySpan<float> vectors)
    {
        int n = CheckVectors(vectors, nameof(vectors));
        if (n == 0) throw new ArgumentException("Training needs at least one vector.", nameof(vectors));
        if (Metric == Metric.Cosine)
        {
            var normalized = NormalizedCopy(vectors, n);
            TrainCore(normalized, n);
        }
        else
        {
            TrainCore(vectors, n);
        }
    }

    /// <summary>Adds vectors with the ids <c>Count, Count + 1, …</c>.</summary>
    public void Add(ReadOnlySpan<float> vectors)
    {
        int n = CheckVectors(vectors, nameof(vectors));
        var ids = new long[n];
        for (int i = 0; i < n; i++) ids[i] = Count + i;
        Add(vectors, ids);
    }

    /// <summary>Adds vectors (row-major) with their ids.</summary>
    /// <exception cref="InvalidOperationException">The index needs training first.</exception>
    public void Add(ReadOnlySpan<float> vectors, ReadOnlySpan<long> ids)
    {
        int n = CheckVectors(vectors, nameof(vectors));
        if (ids.Length != n) throw new ArgumentException($"{n} vectors but {ids.Length} ids.", nameof(ids));
        if (!IsTrained) throw new InvalidOperationException($"This {GetType().Name} must be trained before vectors are added: call Train first.");
        if (n == 0) return;
        if (Metric == Metric.Cosine) AddCore(NormalizedCopy(vectors, n), n, ids);
        else AddCore(vectors, n, ids);
    }

    /// <summary>The <paramref name="k"/> nearest neighbours of <paramref name="query"/>, nearest first (fewer if the index holds fewer).</summary>
    public Neighbor[] Search(ReadOnlySpan<float> query, int k, SearchParameters? parameters = null)
    {
        ThrowIfBadK(k);
        var ids = new long[k];
        var distances = new float[k];
        int found = Search(query, ids, distances, parameters);
        var result = new Neighbor[found];
        for (int i = 0; i < found; i++) result[i] = new Neighbor(ids[i], distances[i]);
        return result;
    }

    /// <summary>
    /// Allocation-free search: fills <paramref name="ids"/> and <paramref name="distances"/> (k = their length)
    /// nearest first and returns how many hits were found.
    /// </summary>
    public int Search(ReadOnlySpan<float> query, Span<long> ids, Span<float> distances, SearchParameters? parameters = null)
    {
        if (ids.Length != distances.Length) throw new ArgumentException("ids and distances differ in length.", nameof(distances));
        ThrowIfBadK(ids.Length);
        parameters ??= SearchParameters.Default;
        parameters.Validate();
        CheckQuery(query);
        if (!IsTrained) throw new InvalidOperationException($"This {GetType().Name} must be trained before it is searched.");

        float[]? rented = null;
        Span<float> prepared = Dimension <= StackLimit ? stackalloc float[Dimension] : (rented = ArrayPool<float>.Shared.Rent(Dimension)).AsSpan(0, Dimension);
        try
        {
            query.CopyTo(prepared);
            if (Metric == Metric.Cosine) VectorKernels.Normalize(prepared);
            int found = SearchCore(prepared, distances, ids, parameters);
            ReportDistances(distances[..found]);
            return found;
        }
        finally
        {
            if (rented != null) ArrayPool<float>.Shared.Return(rented);
        }
    }

    /// <summary>Searches many queries (row-major) on <paramref name="threads"/> threads (0: every core).</summary>
    public BatchSearchResult SearchBatch(ReadOnlySpan<float> queries, int k, SearchParameters? parameters = null, int threads = 0)
    {
        ThrowIfBadK(k);
        int n = CheckVectors(queries, nameof(queries));
        if (threads < 0) throw new ArgumentOutOfRangeException(nameof(threads), threads, "Use 0 for every core, or a positive count.");
        var result = new BatchSearchResult(n, k);
        Array.Fill(result.Ids, -1L);
        Array.Fill(result.Distances, float.PositiveInfinity);
        var copy = queries.ToArray();
        Parallel.For(0, n, Parallelism.Options(threads), q =>
        {
            Search(copy.AsSpan(q * Dimension, Dimension), result.Ids.AsSpan(q * k, k), result.Distances.AsSpan(q * k, k), parameters);
        });
        return result;
    }

    /// <summary>Learns from <paramref name="n"/> prepared (finite, normalised for cosine) vectors.</summary>
    private protected abstract void TrainCore(ReadOnlySpan<float> vectors, int n);

    /// <summary>Adds <paramref name="n"/> prepared vectors; the index is trained.</summary>
    private protected abstract void AddCore(ReadOnlySpan<float> vectors, int n, ReadOnlySpan<long> ids);

    /// <summary>Fills the heap storage with ranking distances nearest first; returns the hit count.</summary>
    private protected abstract int SearchCore(ReadOnlySpan<float> query, Span<float> distances, Span<long> ids, SearchParameters parameters);

    /// <summary>Turns ranking distances into the metric's reported distances.</summary>
    private void ReportDistances(Span<float> distances)
    {
        if (Metric != Metric.Cosine) return;
        for (int i = 0; i < distances.Length; i++) distances[i] *= 0.5f; // ‖x − y‖² = 2 − 2 cos for unit vectors
    }

    private protected int CheckVectors(ReadOnlySpan<float> vectors, string parameterName) => VectorChecks.CheckRows(vectors, Dimension, parameterName);

    private void CheckQuery(ReadOnlySpan<float> query)
    {
        if (query.Length != Dimension)
            throw new ArgumentException($"The query has {query.Length} values; this index holds {Dimension}-dimensional vectors.", nameof(query));
        VectorChecks.ThrowIfNotFinite(query, Dimension, nameof(query));
    }

    private static void ThrowIfBadK(int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1.");
    }

    private float[] NormalizedCopy(ReadOnlySpan<float> vectors, int n)
    {
        var copy = vectors.ToArray();
        for (int i = 0; i < n; i++) VectorKernels.Normalize(copy.AsSpan(i * Dimension, Dimension));
        return copy;
    }
}
