using EmbeddedVectors.Lists;
using System.Runtime.CompilerServices;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Search;

namespace EmbeddedVectors.Indexes;

/// <summary>Exact search: every stored vector is compared with the query. The ground truth of every recall test.</summary>
public sealed class FlatIndex : VectorIndex
{
    private readonly GrowableBuffer<float> _vectors = new(1024);
    private readonly GrowableBuffer<long> _ids = new(64);

    /// <summary>Creates an empty exact index.</summary>
    public FlatIndex(int dimension, Metric metric = Metric.L2) : base(dimension, metric) { }

    /// <inheritdoc/>
    public override long Count => _ids.Length;

    /// <summary>Always true: an exact index learns nothing.</summary>
    public override bool IsTrained => true;

    private protected override void TrainCore(ReadOnlySpan<float> vectors, int n) { }

    private protected override void AddCore(ReadOnlySpan<float> vectors, int n, ReadOnlySpan<long> ids)
    {
        _vectors.Append(vectors);
        _ids.Append(ids);
    }

    private protected override int SearchCore(ReadOnlySpan<float> query, Span<float> distances, Span<long> ids, SearchParameters parameters)
    {
        var heap = new TopKHeap(distances, ids);
        ScanExact(RankingMetric, query, _vectors.Span, _ids.Span, ref heap);
        return heap.SortAscending();
    }

    /// <summary>Pushes every row of <paramref name="vectors"/> into the heap by exact distance.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ScanExact(Metric rankingMetric, ReadOnlySpan<float> query, ReadOnlySpan<float> vectors, ReadOnlySpan<long> ids, ref TopKHeap heap)
    {
        int dim = query.Length;
        float threshold = heap.Threshold;
        for (int i = 0; i < ids.Length; i++)
        {
            float d = VectorKernels.RankingDistance(rankingMetric, query, vectors.Slice(i * dim, dim));
            if (d <= threshold)
            {
                heap.Push(d, ids[i]);
                threshold = heap.Threshold;
            }
        }
    }
}
