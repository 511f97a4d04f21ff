using EmbeddedVectors.Lists;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Search;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Indexes;

/// <summary>
/// Product quantization without an inverted file: every vector is stored as an <c>m</c>-byte code and every code
/// is scanned with the query's asymmetric distance table.
/// </summary>
public sealed class PqIndex : VectorIndex
{
    private readonly KMeansOptions _kmeans;
    private readonly GrowableBuffer<byte> _codes = new(1024);
    private readonly GrowableBuffer<long> _ids = new(64);
    private ProductQuantizer? _pq;

    /// <summary>Creates an untrained index with <paramref name="subQuantizers"/> one-byte sub-quantizers.</summary>
    /// <exception cref="ArgumentException">The dimension is not divisible by <paramref name="subQuantizers"/>.</exception>
    public PqIndex(int dimension, int subQuantizers, Metric metric = Metric.L2, KMeansOptions? kmeans = null) : base(dimension, metric)
    {
        ProductQuantizer.ValidateShape(dimension, subQuantizers);
        SubQuantizers = subQuantizers;
        _kmeans = kmeans ?? new KMeansOptions();
    }

    /// <summary>Number of sub-quantizers (bytes a code).</summary>
    public int SubQuantizers { get; }

    /// <inheritdoc/>
    public override long Count => _ids.Length;

    /// <inheritdoc/>
    public override bool IsTrained => _pq != null;

    /// <summary>The trained quantizer.</summary>
    public ProductQuantizer Quantizer => _pq ?? throw new InvalidOperationException("The index is not trained yet.");

    private protected override void TrainCore(ReadOnlySpan<float> vectors, int n)
        => _pq = ProductQuantizer.Train(vectors, n, Dimension, SubQuantizers, _kmeans);

    private protected override void AddCore(ReadOnlySpan<float> vectors, int n, ReadOnlySpan<long> ids)
    {
        var codes = new byte[n * SubQuantizers];
        Quantizer.Encode(vectors, codes);
        _codes.Append(codes);
        _ids.Append(ids);
    }

    private protected override int SearchCore(ReadOnlySpan<float> query, Span<float> distances, Span<long> ids, SearchParameters parameters)
    {
        var table = SearchScratch.Current.QueryTable(Quantizer.TableLength);
        Quantizer.ComputeDistanceTable(query, RankingMetric, table);
        var heap = new TopKHeap(distances, ids);
        AdcScan.Scan(table, SubQuantizers, _codes.Span, (int)_ids.Length, 0f, _ids.Span, ref heap);
        return heap.SortAscending();
    }
}
