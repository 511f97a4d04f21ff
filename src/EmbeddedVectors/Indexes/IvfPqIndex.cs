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
}

/// <summary>
/// IVFPQ: an inverted file whose cells hold PQ codes of each vector's residual to its cell centroid, scanned with
/// asymmetric distance tables; optionally the best candidates are re-ranked by exact distance.
/// </summary>
/// <remarks>
/// For L2 the distance to a code splits as ‖q − c − r‖² = ‖q − c‖² + (‖r‖² + 2⟨c, r⟩) − 2⟨q, r⟩. The middle
/// term depends only on the cell and the code, so it is computed once at training (the "precomputed tables" of
/// FAISS); the last depends only on the query. Probing a cell then costs one table addition, not a table build.
/// For inner product, −⟨q, c + r⟩ = −⟨q, c⟩ − ⟨q, r⟩, and one query table serves every cell.
/// </remarks>
public sealed class IvfPqIndex : VectorIndex
{
    private const int Ksub = ProductQuantizer.CentroidsPerSubQuantizer;
    private readonly IvfPqOptions _options;
    private CoarseQuantizer? _coarse;
    private ProductQuantizer? _pq;
    private float[]? _precomputed;
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
    public override bool IsTrained => _pq != null;

    /// <summary>The trained coarse quantizer.</summary>
    public CoarseQuantizer CoarseQuantizer => _coarse ?? throw new InvalidOperationException("The index is not trained yet.");

    /// <summary>The trained residual product quantizer.</summary>
    public ProductQuantizer ProductQuantizer => _pq ?? throw new InvalidOperationException("The index is not trained yet.");

    /// <summary>True when per-cell tables were precomputed (L2 metrics within <see cref="IvfPqOptions.MaxPrecomputedTableBytes"/>).</summary>
    public bool UsesPrecomputedTables => _precomputed != null;

    private protected override void TrainCore(ReadOnlySpan<float> vectors, int n)
    {
        var coarse = CoarseQuantizer.Train(vectors, n, Dimension, NList, RankingMetric, _options.KMeans);
        var lists = new int[n];
        coarse.Assign(vectors, n, lists);
        var residuals = new float[(long)n * Dimension];
        for (int i = 0; i < n; i++)
            ComputeResidual(coarse, vectors.Slice(i * Dimension, Dimension), lists[i], residuals.AsSpan(i * Dimension, Dimension));
        var pq = ProductQuantizer.Train(residuals, n, Dimension, M, _options.KMeans with { MaxPointsPerCentroid = Math.Max(_options.KMeans.MaxPointsPerCentroid, 256) });
        _coarse = coarse;
        _pq = pq;
        _precomputed = RankingMetric == Metric.L2 && (long)NList * M * Ksub * sizeof(float) <= _options.MaxPrecomputedTableBytes
            ? PrecomputeCellTables(coarse, pq)
            : null;
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

    /// <summary>‖r‖² + 2⟨c_l, r⟩ for every cell l, sub-quantizer and code word r.</summary>
    internal static float[] PrecomputeCellTables(CoarseQuantizer coarse, ProductQuantizer pq)
    {
        int tableLength = pq.SubQuantizers * Ksub;
        var norms = new float[tableLength];
        for (int j = 0; j < pq.SubQuantizers; j++)
        {
            var book = pq.Codebook(j);
            for (int c = 0; c < Ksub; c++) norms[j * Ksub + c] = VectorKernels.SquaredNorm(book.Slice(c * pq.SubDimension, pq.SubDimension));
        }
        var tables = new float[(long)coarse.NList * tableLength];
        Parallel.For(0, coarse.NList, list =>
        {
            var table = tables.AsSpan(list * tableLength, tableLength);
            pq.ComputeInnerProductTable(coarse.Centroid(list), table); // −⟨c_l, r⟩
            VectorKernels.MultiplyAdd(norms, table, -2f, table);
        });
        return tables;
    }

    private protected override void AddCore(ReadOnlySpan<float> vectors, int n, ReadOnlySpan<long> ids)
    {
        var lists = new int[n];
        CoarseQuantizer.Assign(vectors, n, lists);
        const int chunk = 4096;
        var residuals = new float[Math.Min(n, chunk) * Dimension];
        var codes = new byte[Math.Min(n, chunk) * M];
        for (int start = 0; start < n; start += chunk)
        {
            int count = Math.Min(chunk, n - start);
            for (int i = 0; i < count; i++)
                ComputeResidual(CoarseQuantizer, vectors.Slice((start + i) * Dimension, Dimension), lists[start + i], residuals.AsSpan(i * Dimension, Dimension));
            ProductQuantizer.Encode(residuals.AsSpan(0, count * Dimension), codes);
            for (int i = 0; i < count; i++)
            {
                int list = lists[start + i];
                _codes[list].Append(codes.AsSpan(i * M, M));
                _ids[list].Append(ids[start + i]);
                if (_options.StoreVectors) _vectors[list].Append(vectors.Slice((start + i) * Dimension, Dimension));
            }
        }
        _count += n;
    }

    private protected override int SearchCore(ReadOnlySpan<float> query, Span<float> distances, Span<long> ids, SearchParameters parameters)
    {
        if (parameters.Rerank > 0 && !_options.StoreVectors)
            throw new InvalidOperationException("Re-ranking needs the full vectors, but this index was built with StoreVectors = false.");
        var scratch = SearchScratch.Current;
        int nprobe = Math.Min(parameters.NProbe, NList);
        var probeLists = scratch.ProbeLists(nprobe);
        var probeDistances = scratch.ProbeDistances(nprobe);
        int probed = CoarseQuantizer.Probe(query, probeLists, probeDistances);

        bool rerank = parameters.Rerank > 0;
        int shortlistSize = rerank ? Math.Max(parameters.Rerank, ids.Length) : ids.Length;
        var heap = rerank
            ? new TopKHeap(scratch.ShortlistDistances(shortlistSize), scratch.ShortlistLabels(shortlistSize))
            : new TopKHeap(distances, ids);

        int tableLength = M * Ksub;
        var queryTable = scratch.QueryTable(tableLength);
        var listTable = scratch.ListTable(tableLength);
        if (RankingMetric == Metric.InnerProduct || _precomputed != null)
            ProductQuantizer.ComputeInnerProductTable(query, queryTable);

        for (int p = 0; p < probed; p++)
        {
            int list = (int)probeLists[p];
            int size = (int)_ids[list].Length;
            if (size == 0) continue;
            float bias;
            ReadOnlySpan<float> table;
            if (RankingMetric == Metric.InnerProduct)
            {
                table = queryTable;
                bias = probeDistances[p];
            }
            else if (_precomputed != null)
            {
                VectorKernels.MultiplyAdd(_precomputed.AsSpan(list * tableLength, tableLength), queryTable, 2f, listTable);
                table = listTable;
                bias = probeDistances[p];
            }
            else
            {
                var residual = scratch.Vector(Dimension);
                ComputeResidual(CoarseQuantizer, query, list, residual);
                ProductQuantizer.ComputeDistanceTable(residual, Metric.L2, listTable);
                table = listTable;
                bias = 0f;
            }
            AdcScan.Scan(table, M, _codes[list].Span, size, bias, rerank ? default : _ids[list].Span, (long)list << 32, ref heap);
        }

        if (!rerank) return heap.SortAscending();
        return Rerank(query, ref heap, distances, ids);
    }

    /// <summary>Re-scores the shortlist (labels are cell &lt;&lt; 32 | position) by exact distance into the final heap.</summary>
    private int Rerank(ReadOnlySpan<float> query, ref TopKHeap shortlist, Span<float> distances, Span<long> ids)
    {
        int candidates = shortlist.SortAscending();
        var scratch = SearchScratch.Current;
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

    private static void ComputeResidual(CoarseQuantizer coarse, ReadOnlySpan<float> vector, int list, Span<float> residual)
        => VectorKernels.MultiplyAdd(vector, coarse.Centroid(list), -1f, residual);
}
