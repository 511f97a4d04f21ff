using EmbeddedVectors.Kernels;
using EmbeddedVectors.Search;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Indexes;

/// <summary>Shape of an <see cref="IvfPqIndex"/>.</summary>
public sealed record IvfPqOptions
{
    /// <summary>Inverted-file cells (default 1024).</summary>
    public int NList { get; init; } = 1024;

    /// <summary>Sub-quantizers, i.e. bytes a code (default 48); must divide the dimension.</summary>
    public int M { get; init; } = 48;

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
    /// Rounds of OPQ rotation training (Ge et al.) before the quantizers; 0 (default) means no rotation. A learned
    /// rotation balances the variance across sub-quantizers, so codes of the same size lose less (20 is typical).
    /// </summary>
    public int OpqIterations { get; init; }
}

/// <summary>
/// IVFPQ: an inverted file whose cells hold PQ codes of each vector's residual to its cell centroid, scanned with
/// asymmetric distance tables (precomputed per cell for L2, as FAISS does); optionally the best candidates are
/// re-ranked by exact distance.
/// </summary>
public sealed class IvfPqIndex : VectorIndex
{
    private readonly IvfPqOptions _options;
    private IvfPqQuantizer? _quantizer;
    private GrowableBuffer<byte>[] _codes = [];
    private GrowableBuffer<long>[] _ids = [];
    private GrowableBuffer<float>[] _vectors = [];
    private long _count;

    /// <summary>Creates an untrained index.</summary>
    /// <exception cref="ArgumentException">The dimension is not divisible by m, or nlist is not positive.</exception>
    public IvfPqIndex(int dimension, Metric metric = Metric.L2, IvfPqOptions? options = null) : base(dimension, metric)
    {
        _options = options ?? new IvfPqOptions();
        if (_options.NList < 1) throw new ArgumentOutOfRangeException(nameof(options), _options.NList, "nlist must be at least 1.");
        ProductQuantizer.ValidateShape(dimension, _options.M);
    }

    /// <summary>Number of cells.</summary>
    public int NList => _options.NList;

    /// <summary>Bytes a code.</summary>
    public int M => _options.M;

    /// <summary>True when full vectors are kept for re-ranking.</summary>
    public bool StoresVectors => _options.StoreVectors;

    /// <inheritdoc/>
    public override long Count => _count;

    /// <inheritdoc/>
    public override bool IsTrained => _quantizer != null;

    /// <summary>The trained coarse quantizer.</summary>
    public CoarseQuantizer CoarseQuantizer => Quantizer.Coarse;

    /// <summary>The trained residual product quantizer.</summary>
    public ProductQuantizer ProductQuantizer => Quantizer.Pq;

    /// <summary>True when per-cell tables were precomputed (L2 metrics within <see cref="IvfPqOptions.MaxPrecomputedTableBytes"/>).</summary>
    public bool UsesPrecomputedTables => Quantizer.UsesPrecomputedTables;

    private IvfPqQuantizer Quantizer => _quantizer ?? throw new InvalidOperationException("The index is not trained yet.");

    private protected override void TrainCore(ReadOnlySpan<float> vectors, int n)
    {
        if (_options.OpqIterations < 0) throw new ArgumentOutOfRangeException(nameof(IvfPqOptions.OpqIterations), _options.OpqIterations, "Use 0 for no rotation.");
        _quantizer = IvfPqQuantizer.Train(vectors, n, Dimension, NList, M, RankingMetric, _options.KMeans, _options.MaxPrecomputedTableBytes,
            opqIterations: _options.OpqIterations);
        _codes = new GrowableBuffer<byte>[NList];
        _ids = new GrowableBuffer<long>[NList];
        _vectors = new GrowableBuffer<float>[_options.StoreVectors ? NList : 0];
        for (int l = 0; l < NList; l++)
        {
            _codes[l] = new GrowableBuffer<byte>(M * 8);
            _ids[l] = new GrowableBuffer<long>(8);
            if (_options.StoreVectors) _vectors[l] = new GrowableBuffer<float>(Dimension * 8);
        }
        _count = 0;
    }

    private protected override void AddCore(ReadOnlySpan<float> vectors, int n, ReadOnlySpan<long> ids)
    {
        var lists = new int[n];
        var codes = new byte[(long)n * M];
        Quantizer.Encode(vectors, n, lists, codes);
        for (int i = 0; i < n; i++)
        {
            int list = lists[i];
            _codes[list].Append(codes.AsSpan(i * M, M));
            _ids[list].Append(ids[i]);
            if (_options.StoreVectors) _vectors[list].Append(vectors.Slice(i * Dimension, Dimension));
        }
        _count += n;
    }

    private protected override int SearchCore(ReadOnlySpan<float> query, Span<float> distances, Span<long> ids, SearchParameters parameters)
    {
        if (parameters.Rerank > 0 && !_options.StoreVectors)
            throw new InvalidOperationException("Re-ranking needs the full vectors, but this index was built with StoreVectors = false.");
        var quantizer = Quantizer;
        var scratch = SearchScratch.Current;
        int nprobe = Math.Min(parameters.NProbe, NList);
        var probeLists = scratch.ProbeLists(nprobe);
        var probeDistances = scratch.ProbeDistances(nprobe);
        var queryTable = scratch.QueryTable(quantizer.TableLength);
        var cellTable = scratch.ListTable(quantizer.TableLength);
        var coded = quantizer.QuantizerSpace(query, scratch.Rotated(Dimension));
        int probed = quantizer.Prepare(coded, probeLists, probeDistances, queryTable);

        bool rerank = parameters.Rerank > 0;
        int shortlistSize = rerank ? Math.Max(parameters.Rerank, ids.Length) : ids.Length;
        var heap = rerank
            ? new TopKHeap(scratch.ShortlistDistances(shortlistSize), scratch.ShortlistLabels(shortlistSize))
            : new TopKHeap(distances, ids);
        for (int p = 0; p < probed; p++)
        {
            int list = (int)probeLists[p];
            int size = (int)_ids[list].Length;
            if (size == 0) continue;
            var table = quantizer.CellTable(coded, list, probeDistances[p], queryTable, cellTable, out float bias);
            if (rerank)
            {
                // Shortlist labels are cell << 32 | position, so the exact pass can find the vector.
                var positions = new SequentialCandidates((long)list << 32);
                AdcScan.Scan(table, M, _codes[list].Span, size, bias, ref positions, ref heap);
            }
            else
            {
                AdcScan.Scan(table, M, _codes[list].Span, size, bias, _ids[list].Span, ref heap);
            }
        }
        if (!rerank) return heap.SortAscending();

        int candidates = heap.SortAscending();
        var labels = scratch.ShortlistLabels(candidates);
        var final = new TopKHeap(distances, ids);
        for (int i = 0; i < candidates; i++)
        {
            int list = (int)(labels[i] >> 32);
            int position = (int)(labels[i] & 0xFFFF_FFFF);
            var vector = _vectors[list].Span.Slice(position * Dimension, Dimension);
            final.Push(VectorKernels.RankingDistance(RankingMetric, query, vector), _ids[list].Span[position]);
        }
        return final.SortAscending();
    }
}
