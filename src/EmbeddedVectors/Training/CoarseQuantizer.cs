using EmbeddedVectors.Kernels;
using EmbeddedVectors.Search;

namespace EmbeddedVectors.Training;

/// <summary>
/// The coarse quantizer of an inverted file: <see cref="NList"/> k-means centroids that split the space into
/// Voronoi cells. A vector goes to its nearest cell; a query probes its <c>nprobe</c> nearest cells.
/// </summary>
public sealed class CoarseQuantizer
{
    private readonly float[] _centroids;
    private readonly CentroidTable _table;

    private CoarseQuantizer(float[] centroids, int nlist, int dimension, Metric rankingMetric)
    {
        _centroids = centroids;
        NList = nlist;
        Dimension = dimension;
        RankingMetric = rankingMetric;
        _table = new CentroidTable(centroids, nlist, dimension, rankingMetric);
    }

    /// <summary>Number of cells.</summary>
    public int NList { get; }

    /// <summary>Length of each centroid.</summary>
    public int Dimension { get; }

    /// <summary>How cells are ranked for a query: L2, or inner product for <see cref="Metric.InnerProduct"/> indexes.</summary>
    public Metric RankingMetric { get; }

    /// <summary>The centroids, row-major (<c>NList × Dimension</c>).</summary>
    public ReadOnlySpan<float> Centroids => _centroids;

    /// <summary>The centroid of cell <paramref name="list"/>.</summary>
    public ReadOnlySpan<float> Centroid(int list) => _centroids.AsSpan(list * Dimension, Dimension);

    /// <summary>Trains <paramref name="nlist"/> cells with k-means on <paramref name="n"/> row-major vectors.</summary>
    public static CoarseQuantizer Train(ReadOnlySpan<float> vectors, int n, int dimension, int nlist, Metric rankingMetric, KMeansOptions? options = null)
    {
        if (nlist < 1) throw new ArgumentOutOfRangeException(nameof(nlist), nlist, "nlist must be at least 1.");
        if (n < nlist)
            throw new ArgumentException($"Training {nlist} cells needs at least {nlist} vectors; got {n}. Train on more vectors or lower nlist.", nameof(n));
        var result = KMeans.Train(vectors, n, dimension, nlist, options);
        return new CoarseQuantizer(result.Centroids, nlist, dimension, MetricRanking.RankingMetric(rankingMetric));
    }

    /// <summary>Rebuilds a quantizer from stored centroids.</summary>
    public static CoarseQuantizer FromCentroids(ReadOnlySpan<float> centroids, int nlist, int dimension, Metric rankingMetric)
    {
        if (nlist < 1) throw new ArgumentOutOfRangeException(nameof(nlist), nlist, "nlist must be at least 1.");
        if (centroids.Length != (long)nlist * dimension)
            throw new ArgumentException($"Expected {nlist} × {dimension} centroid values, got {centroids.Length}.", nameof(centroids));
        VectorChecks.ThrowIfNotFinite(centroids, dimension, nameof(centroids));
        return new CoarseQuantizer(centroids.ToArray(), nlist, dimension, MetricRanking.RankingMetric(rankingMetric));
    }

    /// <summary>The cell of each of <paramref name="n"/> row-major vectors.</summary>
    public void Assign(ReadOnlySpan<float> vectors, int n, Span<int> lists)
    {
        if (vectors.Length != (long)n * Dimension) throw new ArgumentException($"Expected {n} × {Dimension} values.", nameof(vectors));
        if (lists.Length < n) throw new ArgumentException("The output span is too short.", nameof(lists));
        var nearest = new int[n];
        KMeans.Assign(_table, vectors, n, nearest, new float[n], threads: 0);
        nearest.CopyTo(lists);
    }

    /// <summary>
    /// Writes the <c>lists.Length</c> cells nearest to <paramref name="query"/>, nearest first, with their ranking
    /// distances; returns how many were written (at most <see cref="NList"/>).
    /// </summary>
    internal int Probe(ReadOnlySpan<float> query, Span<long> lists, Span<float> distances)
    {
        var scratch = SearchScratch.Current;
        var all = scratch.CoarseDistances(NList);
        _table.ComputeAll(query, all);
        int wanted = Math.Min(lists.Length, NList);
        var heap = new TopKHeap(distances[..wanted], lists[..wanted]);
        for (int l = 0; l < NList; l++)
        {
            if (all[l] <= heap.Threshold) heap.Push(all[l], l);
        }
        return heap.SortAscending();
    }

}
