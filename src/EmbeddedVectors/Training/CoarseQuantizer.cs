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
    private CentroidGraph? _graph;

    /// <summary>
    /// The nlist from which <see cref="Train"/> (and a store, at training or open) builds a graph over the centroids
    /// and probes through it instead of scanning every centroid: 16,384.
    /// </summary>
    public const int DefaultGraphMinNList = 16_384;

    /// <summary>Smallest beam a graph probe uses; a probe of nprobe cells uses max(this, <see cref="GraphEfPerProbe"/> × nprobe).</summary>
    internal const int GraphMinEf = 160;

    /// <summary>Beam width per probed cell of a graph probe.</summary>
    internal const int GraphEfPerProbe = 4;

    /// <summary>Beam of the graph search that assigns a vector to its nearest cell.</summary>
    internal const int GraphAssignEf = 64;

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
    /// <param name="vectors">Row-major training vectors.</param>
    /// <param name="n">Number of vectors.</param>
    /// <param name="dimension">Length of each vector.</param>
    /// <param name="nlist">Number of cells.</param>
    /// <param name="rankingMetric">How cells rank for a query.</param>
    /// <param name="options">k-means settings (hierarchical above <see cref="KMeansOptions.HierarchicalMinK"/>).</param>
    /// <param name="graphMinNList">From this nlist on, probes and assignment go through a graph over the centroids (<see cref="DefaultGraphMinNList"/>).</param>
    public static CoarseQuantizer Train(ReadOnlySpan<float> vectors, int n, int dimension, int nlist, Metric rankingMetric, KMeansOptions? options = null,
        int graphMinNList = DefaultGraphMinNList)
    {
        if (nlist < 1) throw new ArgumentOutOfRangeException(nameof(nlist), nlist, "nlist must be at least 1.");
        if (n < nlist)
            throw new ArgumentException($"Training {nlist} cells needs at least {nlist} vectors; got {n}. Train on more vectors or lower nlist.", nameof(n));
        var result = KMeans.Train(vectors, n, dimension, nlist, options);
        var quantizer = new CoarseQuantizer(result.Centroids, nlist, dimension, MetricRanking.RankingMetric(rankingMetric));
        if (nlist >= graphMinNList) quantizer.BuildGraph();
        return quantizer;
    }

    /// <summary>Whether probes and assignment go through a graph over the centroids rather than scanning them all.</summary>
    public bool HasGraph => _graph != null;

    internal CentroidGraph? Graph => _graph;

    /// <summary>Builds the graph over the centroids and probes through it from now on (before the quantizer is shared).</summary>
    internal void BuildGraph() => _graph = CentroidGraph.Build(_centroids, NList, Dimension, RankingMetric);

    /// <summary>Probes through <paramref name="graph"/> (read from a file over these centroids) from now on.</summary>
    internal void AttachGraph(CentroidGraph graph) => _graph = graph;

    /// <summary>Rebuilds a graph read from a file over this quantizer's centroids; null and a problem when its values do not hold.</summary>
    internal CentroidGraph? GraphFromParts(int m, int[] levels, int[] level0, int[] upper, int entryPoint, out string? problem)
        => CentroidGraph.FromParts(_centroids, NList, Dimension, RankingMetric, m, levels, level0, upper, entryPoint, out problem);

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
        if (_graph != null) _graph.NearestMany(vectors, n, nearest, GraphAssignEf, threads: 0);
        else KMeans.Assign(_table, vectors, n, nearest, new float[n], threads: 0);
        nearest.CopyTo(lists);
    }

    /// <summary>
    /// Writes the <c>lists.Length</c> cells nearest to <paramref name="query"/>, nearest first, with their ranking
    /// distances; returns how many were written (at most <see cref="NList"/>).
    /// </summary>
    internal int Probe(ReadOnlySpan<float> query, Span<long> lists, Span<float> distances)
        => _graph != null ? ProbeGraph(query, lists, distances, out _) : ProbeFlat(query, lists, distances);

    /// <summary><see cref="Probe"/> through the graph; <paramref name="computations"/> counts the centroid distances it computed.</summary>
    internal int ProbeGraph(ReadOnlySpan<float> query, Span<long> lists, Span<float> distances, out int computations, int ef = 0)
    {
        if (ef <= 0) ef = Math.Max(GraphMinEf, GraphEfPerProbe * lists.Length);
        return _graph!.Probe(query, lists, distances, ef, out computations);
    }

    /// <summary><see cref="Probe"/> by scanning every centroid.</summary>
    internal int ProbeFlat(ReadOnlySpan<float> query, Span<long> lists, Span<float> distances)
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
