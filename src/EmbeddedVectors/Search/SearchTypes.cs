namespace EmbeddedVectors.Search;

/// <summary>One search hit.</summary>
/// <param name="Id">The vector's id.</param>
/// <param name="Distance">Smaller is nearer: squared L2, negated inner product, or <c>1 − cos</c>, by the index's metric.</param>
public readonly record struct Neighbor(long Id, float Distance);

/// <summary>Per-call search settings. Indexes ignore the ones that do not apply to them.</summary>
public sealed record SearchParameters
{
    /// <summary>The default settings.</summary>
    public static SearchParameters Default { get; } = new();

    /// <summary>Inverted-file cells scanned (clamped to the index's <c>nlist</c>). Default 16.</summary>
    public int NProbe { get; init; } = 16;

    /// <summary>
    /// When positive, the best <c>Rerank</c> candidates by compressed distance are re-ranked by exact distance
    /// from the stored full vectors (the index must keep them). Default 0: no re-ranking.
    /// </summary>
    public int Rerank { get; init; }

    internal void Validate()
    {
        if (NProbe < 1) throw new ArgumentOutOfRangeException(nameof(NProbe), NProbe, "nprobe must be at least 1.");
        if (Rerank < 0) throw new ArgumentOutOfRangeException(nameof(Rerank), Rerank, "rerank must be 0 (off) or positive.");
    }
}

/// <summary>Results of a batch search: <c>k</c> slots a query, nearest first; an unfilled slot has id −1 and distance +∞.</summary>
public sealed class BatchSearchResult
{
    internal BatchSearchResult(int queryCount, int k)
    {
        QueryCount = queryCount;
        K = k;
        Ids = new long[(long)queryCount * k];
        Distances = new float[(long)queryCount * k];
    }

    /// <summary>Number of queries.</summary>
    public int QueryCount { get; }

    /// <summary>Slots per query.</summary>
    public int K { get; }

    /// <summary>Ids, <c>QueryCount × K</c>, row-major.</summary>
    public long[] Ids { get; }

    /// <summary>Distances, <c>QueryCount × K</c>, row-major.</summary>
    public float[] Distances { get; }

    /// <summary>The ids of query <paramref name="query"/>'s hits.</summary>
    public ReadOnlySpan<long> IdsOf(int query) => Ids.AsSpan(query * K, K);

    /// <summary>The distances of query <paramref name="query"/>'s hits.</summary>
    public ReadOnlySpan<float> DistancesOf(int query) => Distances.AsSpan(query * K, K);
}
