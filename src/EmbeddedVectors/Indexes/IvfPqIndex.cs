using EmbeddedVectors.Kernels;
using EmbeddedVectors.Search;
using EmbeddedVectors.Lists;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Indexes;

/// <summary>Shape of an <see cref="IvfPqIndex"/>.</summary>
public sealed record IvfPqOptions
{
    /// <summary>Inverted-file cells (default 1024).</summary>
    public int NList { get; init; } = 1024;

    /// <summary>Sub-quantizers (default 48); must divide the dimension, and be even for fast-scan.</summary>
    public int M { get; init; } = 48;

    /// <summary>
    /// 8-bit codes (<see cref="VectorCodes.Pq8"/>, the default: m bytes a vector) or 4-bit fast-scan codes
    /// (<see cref="VectorCodes.Pq4FastScan"/>: m / 2 bytes a vector in blocks of 32, scanned with SIMD byte
    /// shuffles over quantised tables; pair it with re-ranking).
    /// </summary>
    public VectorCodes Codes { get; init; } = VectorCodes.Pq8;

    /// <summary>Keep the full vectors so results can be re-ranked exactly (costs 4 × dimension bytes a vector). Default true.</summary>
    public bool StoreVectors { get; init; } = true;

    /// <summary>
    /// Largest size of the precomputed per-cell tables (nlist × m × 256 floats). Above it, tables are built from
    /// the query's residual for each probed cell instead. Default 256 MiB.
    /// </summary>
    public long MaxPrecomputedTableBytes { get; init; } = 256L << 20;

    /// <summary>k-means settings for both the coarse quantizer and the PQ codebooks.</summary>
    public KMeansOptions KMeans { get; init; } = new();

    /// <summary>
    /// From this nlist on (default <see cref="CoarseQuantizer.DefaultGraphMinNList"/>), cells are probed and vectors
    /// assigned through an HNSW graph over the centroids instead of a scan of every centroid.
    /// </summary>
    public int CoarseGraphMinNList { get; init; } = CoarseQuantizer.DefaultGraphMinNList;

    /// <summary>
    /// Rounds of OPQ rotation training (Ge et al.) before the quantizers; 0 (default) means no rotation. A learned
    /// rotation balances the variance across sub-quantizers, so codes of the same size lose less (20 is typical).
    /// </summary>
    public int OpqIterations { get; init; }
}

/// <summary>
/// IVFPQ: an inverted file whose cells hold PQ codes of each vector's residual to its cell centroid, scanned with
/// asymmetric distance tables (precomputed per cell for L2, as FAISS does), either as 8-bit codes or as 4-bit
/// fast-scan blocks; optionally the best candidates are re-ranked by exact distance.
/// </summary>
public sealed class IvfPqIndex : VectorIndex
{
    private readonly IvfPqOptions _options;
    private IvfPqQuantizer? _quantizer;
    private CodeLists? _lists;
    private IInvertedLists[] _sources = [];

    /// <summary>Creates an untrained index.</summary>
    /// <exception cref="ArgumentException">The dimension is not divisible by m, m is odd for fast-scan, or nlist is not positive.</exception>
    public IvfPqIndex(int dimension, Metric metric = Metric.L2, IvfPqOptions? options = null) : base(dimension, metric)
    {
        _options = options ?? new IvfPqOptions();
        if (_options.NList < 1) throw new ArgumentOutOfRangeException(nameof(options), _options.NList, "nlist must be at least 1.");
        if (!Enum.IsDefined(_options.Codes)) throw new ArgumentOutOfRangeException(nameof(options), _options.Codes, "Unknown code layout.");
        if (_options.OpqIterations < 0) throw new ArgumentOutOfRangeException(nameof(options), _options.OpqIterations, "OpqIterations: use 0 for no rotation.");
        ProductQuantizer.ValidateShape(dimension, _options.M);
        if (FastScanCodes) FastScan.ValidateM(_options.M);
    }

    /// <summary>Number of cells.</summary>
    public int NList => _options.NList;

    /// <summary>Sub-quantizers.</summary>
    public int M => _options.M;

    /// <summary>The code layout.</summary>
    public VectorCodes Codes => _options.Codes;

    /// <summary>True when full vectors are kept for re-ranking.</summary>
    public bool StoresVectors => _options.StoreVectors;

    /// <inheritdoc/>
    public override long Count => _lists?.Count ?? 0;

    /// <inheritdoc/>
    public override bool IsTrained => _quantizer != null;

    /// <summary>The trained coarse quantizer.</summary>
    public CoarseQuantizer CoarseQuantizer => Quantizer.Coarse;

    /// <summary>The trained residual product quantizer.</summary>
    public ProductQuantizer ProductQuantizer => Quantizer.Pq;

    /// <summary>The learned OPQ rotation, or null when <see cref="IvfPqOptions.OpqIterations"/> is 0.</summary>
    public OpqRotation? Rotation => Quantizer.Rotation;

    /// <summary>True when per-cell tables were precomputed (L2 metrics within <see cref="IvfPqOptions.MaxPrecomputedTableBytes"/>).</summary>
    public bool UsesPrecomputedTables => Quantizer.UsesPrecomputedTables;

    private bool FastScanCodes => _options.Codes == VectorCodes.Pq4FastScan;

    private IvfPqQuantizer Quantizer => _quantizer ?? throw new InvalidOperationException("The index is not trained yet.");

    private protected override void TrainCore(ReadOnlySpan<float> vectors, int n)
    {
        _quantizer = IvfPqQuantizer.Train(vectors, n, Dimension, NList, M, RankingMetric, _options.KMeans, _options.MaxPrecomputedTableBytes,
            bits: FastScanCodes ? 4 : 8, opqIterations: _options.OpqIterations, _options.CoarseGraphMinNList);
        _lists = new CodeLists(NList, Dimension, M, _options.StoreVectors, packed: FastScanCodes);
        // The index is not searched while it is added to, so a view that always sees every entry will do.
        _sources = [new CodeListsView(_lists, CodeListsView.Latest)];
    }

    private protected override void AddCore(ReadOnlySpan<float> vectors, int n, ReadOnlySpan<long> ids)
    {
        var lists = new int[n];
        var codes = new byte[(long)n * M];
        Quantizer.Encode(vectors, n, lists, codes);
        for (int i = 0; i < n; i++)
            _lists!.Append(lists[i], codes.AsSpan(i * M, M), ids[i], payloadAddress: 0, vectors.Slice(i * Dimension, Dimension));
    }

    private protected override int SearchCore(ReadOnlySpan<float> query, Span<float> distances, Span<long> ids, SearchParameters parameters)
    {
        if (parameters.Rerank > 0 && !_options.StoreVectors)
            throw new InvalidOperationException("Re-ranking needs the full vectors, but this index was built with StoreVectors = false.");
        return IvfSearcher.Search(Quantizer, FastScanCodes, query, _sources, new SearchRequest(parameters.NProbe, parameters.Rerank, Filter: null), distances, ids);
    }
}
