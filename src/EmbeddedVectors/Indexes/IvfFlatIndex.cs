using EmbeddedVectors.Lists;
using EmbeddedVectors.Search;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Indexes;

/// <summary>
/// Inverted file with exact distances: vectors are filed under their nearest of <c>nlist</c> k-means cells, and a
/// query scans only its <c>nprobe</c> nearest cells. With <c>nprobe = nlist</c> it returns exactly what
/// <see cref="FlatIndex"/> returns.
/// </summary>
public sealed class IvfFlatIndex : VectorIndex
{
    private readonly KMeansOptions _kmeans;
    private CoarseQuantizer? _coarse;
    private GrowableBuffer<float>[] _vectors = [];
    private GrowableBuffer<long>[] _ids = [];
    private long _count;

    /// <summary>Creates an untrained index with <paramref name="nlist"/> cells.</summary>
    public IvfFlatIndex(int dimension, int nlist, Metric metric = Metric.L2, KMeansOptions? kmeans = null) : base(dimension, metric)
    {
        if (nlist < 1) throw new ArgumentOutOfRangeException(nameof(nlist), nlist, "nlist must be at least 1.");
        NList = nlist;
        _kmeans = kmeans ?? new KMeansOptions();
    }

    /// <summary>Number of cells.</summary>
    public int NList { get; }

    /// <inheritdoc/>
    public override long Count => _count;

    /// <inheritdoc/>
    public override bool IsTrained => _coarse != null;

    /// <summary>The trained coarse quantizer.</summary>
    public CoarseQuantizer CoarseQuantizer => _coarse ?? throw new InvalidOperationException("The index is not trained yet.");

    private protected override void TrainCore(ReadOnlySpan<float> vectors, int n)
    {
        _coarse = CoarseQuantizer.Train(vectors, n, Dimension, NList, RankingMetric, _kmeans);
        _vectors = new GrowableBuffer<float>[NList];
        _ids = new GrowableBuffer<long>[NList];
        for (int l = 0; l < NList; l++)
        {
            _vectors[l] = new GrowableBuffer<float>(Dimension * 8);
            _ids[l] = new GrowableBuffer<long>(8);
        }
        _count = 0;
    }

    private protected override void AddCore(ReadOnlySpan<float> vectors, int n, ReadOnlySpan<long> ids)
    {
        var lists = new int[n];
        CoarseQuantizer.Assign(vectors, n, lists);
        for (int i = 0; i < n; i++)
        {
            _vectors[lists[i]].Append(vectors.Slice(i * Dimension, Dimension));
            _ids[lists[i]].Append(ids[i]);
        }
        _count += n;
    }

    private protected override int SearchCore(ReadOnlySpan<float> query, Span<float> distances, Span<long> ids, SearchParameters parameters)
    {
        var scratch = SearchScratch.Current;
        int nprobe = Math.Min(parameters.NProbe, NList);
        var probeLists = scratch.ProbeLists(nprobe);
        int probed = CoarseQuantizer.Probe(query, probeLists, scratch.ProbeDistances(nprobe));
        var heap = new TopKHeap(distances, ids);
        for (int p = 0; p < probed; p++)
        {
            int list = (int)probeLists[p];
            FlatIndex.ScanExact(RankingMetric, query, _vectors[list].Span, _ids[list].Span, ref heap);
        }
        return heap.SortAscending();
    }
}
