using EmbeddedVectors.Kernels;
using EmbeddedVectors.Search;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Indexes;

/// <summary>
/// IVF with 4-bit fast-scan PQ codes: residual codes of 16-centroid sub-quantizers, stored in blocks of 32 and
/// scanned with byte shuffles over 8-bit quantised tables (see <see cref="FastScan"/>). The estimates are coarse,
/// so search is meant to be paired with exact re-ranking (<see cref="SearchParameters.Rerank"/>).
/// </summary>
public sealed class IvfFastScanIndex : VectorIndex
{
    private readonly IvfPqOptions _options;
    private IvfPqQuantizer? _quantizer;
    private GrowableBuffer<byte>[] _blocks = [];
    private GrowableBuffer<long>[] _ids = [];
    private GrowableBuffer<float>[] _vectors = [];
    private long _count;

    /// <summary>Creates an untrained index; <see cref="IvfPqOptions.M"/> must be even and divide the dimension.</summary>
    public IvfFastScanIndex(int dimension, Metric metric = Metric.L2, IvfPqOptions? options = null) : base(dimension, metric)
    {
        _options = options ?? new IvfPqOptions { M = dimension / 4 };
        if (_options.NList < 1) throw new ArgumentOutOfRangeException(nameof(options), _options.NList, "nlist must be at least 1.");
        ProductQuantizer.ValidateShape(dimension, _options.M);
        FastScan.ValidateM(_options.M);
    }

    /// <summary>Number of cells.</summary>
    public int NList => _options.NList;

    /// <summary>Sub-quantizers (4 bits each, so a code is m / 2 bytes).</summary>
    public int M => _options.M;

    /// <inheritdoc/>
    public override long Count => _count;

    /// <inheritdoc/>
    public override bool IsTrained => _quantizer != null;

    private IvfPqQuantizer Quantizer => _quantizer ?? throw new InvalidOperationException("The index is not trained yet.");

    private protected override void TrainCore(ReadOnlySpan<float> vectors, int n)
    {
        if (_options.OpqIterations < 0) throw new ArgumentOutOfRangeException(nameof(IvfPqOptions.OpqIterations), _options.OpqIterations, "Use 0 for no rotation.");
        _quantizer = IvfPqQuantizer.Train(vectors, n, Dimension, NList, M, RankingMetric, _options.KMeans, _options.MaxPrecomputedTableBytes,
            bits: 4, opqIterations: _options.OpqIterations);
        _blocks = new GrowableBuffer<byte>[NList];
        _ids = new GrowableBuffer<long>[NList];
        _vectors = new GrowableBuffer<float>[_options.StoreVectors ? NList : 0];
        for (int l = 0; l < NList; l++)
        {
            _blocks[l] = new GrowableBuffer<byte>(FastScan.BlockBytes(M));
            _ids[l] = new GrowableBuffer<long>(FastScan.BlockSize);
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
            int position = (int)_ids[list].Length;
            if (position % FastScan.BlockSize == 0) _blocks[list].AppendDefault(FastScan.BlockBytes(M));
            FastScan.Pack(codes.AsSpan(i * M, M), _blocks[list].WritableSpan, position, M);
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
        Span<byte> lut = stackalloc byte[quantizer.TableLength];
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
            FastScan.QuantizeTable(table, M, lut, out float scale, out float offset);
            if (rerank)
            {
                var positions = new SequentialCandidates((long)list << 32);
                FastScan.Scan(lut, M, _blocks[list].Span, size, bias + offset, scale, ref positions, ref heap);
            }
            else
            {
                var labelled = new LabelledCandidates(_ids[list].Span);
                FastScan.Scan(lut, M, _blocks[list].Span, size, bias + offset, scale, ref labelled, ref heap);
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
