using BenchmarkDotNet.Attributes;
using EmbeddedVectors;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Search;

namespace EmbeddedVectors.Benchmarks;

/// <summary>Distance kernels, one pair of vectors: scalar against the two SIMD widths.</summary>
[ShortRunJob]
public class DistanceBenchmarks
{
    private float[] _x = [];
    private float[] _y = [];

    [Params(128, 384, 385)]
    public int Dimension { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _x = new float[Dimension];
        _y = new float[Dimension];
        for (int i = 0; i < Dimension; i++) { _x[i] = random.NextSingle(); _y[i] = random.NextSingle(); }
    }

    [Benchmark(Baseline = true)] public float L2Scalar() => VectorKernels.SquaredL2Scalar(_x, _y);
    [Benchmark] public float L2Vector256() => VectorKernels.SquaredL2Vector256(_x, _y);
    [Benchmark] public float L2Vector512() => VectorKernels.SquaredL2Vector512(_x, _y);
    [Benchmark] public float DotVector512() => VectorKernels.DotVector512(_x, _y);
}

/// <summary>The many-to-many kernel behind k-means and PQ encoding: 1,024 points against k centroids.</summary>
[ShortRunJob]
public class CentroidTableBenchmarks
{
    private float[] _points = [];
    private CentroidTable _table = null!;
    private readonly int[] _nearest = new int[1024];
    private readonly float[] _distances = new float[1024];

    [Params(8, 384)]
    public int Dimension { get; set; }

    [Params(256, 1024)]
    public int Centroids { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(2);
        _points = new float[1024 * Dimension];
        var centroids = new float[Centroids * Dimension];
        for (int i = 0; i < _points.Length; i++) _points[i] = random.NextSingle();
        for (int i = 0; i < centroids.Length; i++) centroids[i] = random.NextSingle();
        _table = new CentroidTable(centroids, Centroids, Dimension, Metric.L2);
    }

    [Benchmark] public void FindNearest() => _table.FindNearest(_points, 1024, _nearest, _distances);
}

/// <summary>ADC scan of 8-bit PQ codes: the inner loop of IVFPQ search.</summary>
[ShortRunJob]
public class AdcScanBenchmarks
{
    private float[] _table = [];
    private byte[] _codes = [];
    private long[] _ids = [];
    private readonly float[] _heapDistances = new float[10];
    private readonly long[] _heapIds = new long[10];

    [Params(48)]
    public int M { get; set; }

    [Params(1000)]
    public int Codes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(3);
        _table = new float[M * 256];
        for (int i = 0; i < _table.Length; i++) _table[i] = random.NextSingle();
        _codes = new byte[M * Codes];
        random.NextBytes(_codes);
        _ids = new long[Codes];
        for (int i = 0; i < Codes; i++) _ids[i] = i;
    }

    [Benchmark]
    public int Scan()
    {
        var heap = new TopKHeap(_heapDistances, _heapIds);
        AdcScan.Scan(_table, M, _codes, Codes, 0f, _ids, ref heap);
        return heap.Count;
    }
}
