using EmbeddedVectors.Kernels;

namespace EmbeddedVectors.Training;

/// <summary>
/// Product quantization (Jégou et al.): the vector is cut into <see cref="SubQuantizers"/> equal slices and each
/// slice is replaced by the nearest of 256 centroids learned for it, so a code is one byte a slice.
/// Codebooks are laid out <c>[subquantizer][centroid][SubDimension]</c>.
/// </summary>
public sealed class ProductQuantizer
{
    /// <summary>Centroids per sub-quantizer: 256, so a code fits one byte.</summary>
    public const int CentroidsPerSubQuantizer = 256;

    private readonly float[] _codebooks;
    private readonly CentroidTable[] _nearestTables;
    private readonly CentroidTable[] _innerProductTables;

    private ProductQuantizer(int dimension, int subQuantizers, float[] codebooks)
    {
        Dimension = dimension;
        SubQuantizers = subQuantizers;
        SubDimension = dimension / subQuantizers;
        _codebooks = codebooks;
        _nearestTables = new CentroidTable[subQuantizers];
        _innerProductTables = new CentroidTable[subQuantizers];
        for (int j = 0; j < subQuantizers; j++)
        {
            var book = Codebook(j);
            _nearestTables[j] = new CentroidTable(book, CentroidsPerSubQuantizer, SubDimension, Metric.L2);
            _innerProductTables[j] = new CentroidTable(book, CentroidsPerSubQuantizer, SubDimension, Metric.InnerProduct);
        }
    }

    /// <summary>Length of the vectors encoded.</summary>
    public int Dimension { get; }

    /// <summary>Number of sub-quantizers (<c>m</c>), which is also the code size in bytes.</summary>
    public int SubQuantizers { get; }

    /// <summary>Length of each slice: <c>Dimension / SubQuantizers</c>.</summary>
    public int SubDimension { get; }

    /// <summary>Bytes in one code.</summary>
    public int CodeSize => SubQuantizers;

    /// <summary>All codebooks, <c>SubQuantizers × 256 × SubDimension</c> values.</summary>
    public ReadOnlySpan<float> Codebooks => _codebooks;

    /// <summary>The 256 centroids of sub-quantizer <paramref name="subQuantizer"/>, row-major.</summary>
    public ReadOnlySpan<float> Codebook(int subQuantizer)
        => _codebooks.AsSpan(subQuantizer * CentroidsPerSubQuantizer * SubDimension, CentroidsPerSubQuantizer * SubDimension);

    /// <summary>Checks that <paramref name="dimension"/> splits into <paramref name="subQuantizers"/> equal slices.</summary>
    /// <exception cref="ArgumentException">It does not.</exception>
    public static void ValidateShape(int dimension, int subQuantizers)
    {
        if (dimension < 1) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "The dimension must be positive.");
        if (subQuantizers < 1) throw new ArgumentOutOfRangeException(nameof(subQuantizers), subQuantizers, "m (the number of sub-quantizers) must be at least 1.");
        if (dimension % subQuantizers != 0)
            throw new ArgumentException(
                $"The dimension {dimension} is not divisible by m = {subQuantizers}: product quantization needs equal slices. Pick an m that divides {dimension}.",
                nameof(subQuantizers));
    }

    /// <summary>Learns the codebooks from <paramref name="n"/> row-major training vectors (at least 256 are needed).</summary>
    /// <exception cref="ArgumentException">The shape does not fit, there are fewer than 256 vectors, or a value is not finite.</exception>
    public static ProductQuantizer Train(ReadOnlySpan<float> vectors, int n, int dimension, int subQuantizers, KMeansOptions? options = null)
    {
        ValidateShape(dimension, subQuantizers);
        if (n < CentroidsPerSubQuantizer)
            throw new ArgumentException($"Product quantization needs at least {CentroidsPerSubQuantizer} training vectors (one per centroid); got {n}.", nameof(n));
        if (vectors.Length != (long)n * dimension)
            throw new ArgumentException($"Expected {n} × {dimension} values, got {vectors.Length}.", nameof(vectors));
        VectorChecks.ThrowIfNotFinite(vectors, dimension, nameof(vectors));
        options ??= new KMeansOptions();

        int sub = dimension / subQuantizers;
        var codebooks = new float[subQuantizers * CentroidsPerSubQuantizer * sub];
        // Slices train independently, so the cores split the slices rather than each k-means run.
        var slices = new float[subQuantizers][];
        for (int j = 0; j < subQuantizers; j++) slices[j] = ExtractSlice(vectors, n, dimension, j * sub, sub);
        var perSlice = options with { Threads = 1 };
        Parallel.For(0, subQuantizers, Parallelism.Options(options.Threads), j =>
        {
            var result = KMeans.Train(slices[j], n, sub, CentroidsPerSubQuantizer, perSlice with { Seed = options.Seed + j });
            result.Centroids.CopyTo(codebooks, j * CentroidsPerSubQuantizer * sub);
        });
        return new ProductQuantizer(dimension, subQuantizers, codebooks);
    }

    /// <summary>Rebuilds a quantizer from stored codebooks.</summary>
    /// <exception cref="ArgumentException">The codebooks' length does not match the shape, or a value is not finite.</exception>
    public static ProductQuantizer FromCodebooks(int dimension, int subQuantizers, ReadOnlySpan<float> codebooks)
    {
        ValidateShape(dimension, subQuantizers);
        if (codebooks.Length != CentroidsPerSubQuantizer * dimension)
            throw new ArgumentException($"Expected 256 × {dimension} codebook values, got {codebooks.Length}.", nameof(codebooks));
        VectorChecks.ThrowIfNotFinite(codebooks, dimension / subQuantizers, nameof(codebooks));
        return new ProductQuantizer(dimension, subQuantizers, codebooks.ToArray());
    }

    /// <summary>Encodes <c>vectors.Length / Dimension</c> vectors into <see cref="CodeSize"/> bytes each.</summary>
    public void Encode(ReadOnlySpan<float> vectors, Span<byte> codes)
    {
        int n = VectorChecks.RowCount(vectors, Dimension, nameof(vectors));
        if (codes.Length < (long)n * CodeSize) throw new ArgumentException($"Need {n * CodeSize} bytes for {n} codes.", nameof(codes));
        const int batch = 256;
        Span<float> slice = new float[batch * SubDimension];
        Span<int> nearest = stackalloc int[batch];
        Span<float> distances = stackalloc float[batch];
        for (int start = 0; start < n; start += batch)
        {
            int count = Math.Min(batch, n - start);
            for (int j = 0; j < SubQuantizers; j++)
            {
                for (int i = 0; i < count; i++)
                    vectors.Slice((start + i) * Dimension + j * SubDimension, SubDimension).CopyTo(slice.Slice(i * SubDimension));
                _nearestTables[j].FindNearest(slice, count, nearest, distances);
                for (int i = 0; i < count; i++) codes[(start + i) * CodeSize + j] = (byte)nearest[i];
            }
        }
    }

    /// <summary>Reconstructs vectors from their codes (each slice becomes its centroid).</summary>
    public void Decode(ReadOnlySpan<byte> codes, Span<float> vectors)
    {
        if (codes.Length % CodeSize != 0) throw new ArgumentException($"Codes are {CodeSize} bytes each.", nameof(codes));
        int n = codes.Length / CodeSize;
        if (vectors.Length < (long)n * Dimension) throw new ArgumentException($"Need {n * Dimension} values for {n} vectors.", nameof(vectors));
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < SubQuantizers; j++)
            {
                int c = codes[i * CodeSize + j];
                _codebooks.AsSpan((j * CentroidsPerSubQuantizer + c) * SubDimension, SubDimension)
                    .CopyTo(vectors.Slice(i * Dimension + j * SubDimension));
            }
        }
    }

    /// <summary>
    /// The asymmetric distance table of a query: for each sub-quantizer and centroid, the slice's squared L2
    /// distance (for <see cref="Metric.L2"/> and <see cref="Metric.Cosine"/>) or negated inner product
    /// (<see cref="Metric.InnerProduct"/>). A code's distance is the sum of its <c>m</c> entries.
    /// </summary>
    public void ComputeDistanceTable(ReadOnlySpan<float> query, Metric metric, Span<float> table)
    {
        if (query.Length != Dimension) throw new ArgumentException($"The query has {query.Length} values; expected {Dimension}.", nameof(query));
        if (table.Length < SubQuantizers * CentroidsPerSubQuantizer) throw new ArgumentException("The table is too short.", nameof(table));
        var tables = metric == Metric.InnerProduct ? _innerProductTables : _nearestTables;
        for (int j = 0; j < SubQuantizers; j++)
            tables[j].ComputeAll(query.Slice(j * SubDimension, SubDimension), table.Slice(j * CentroidsPerSubQuantizer, CentroidsPerSubQuantizer));
    }

    /// <summary>−⟨q_j, c⟩ for every slice and centroid: the query-dependent half of IVFPQ's precomputed tables.</summary>
    internal void ComputeInnerProductTable(ReadOnlySpan<float> query, Span<float> table)
        => ComputeDistanceTable(query, Metric.InnerProduct, table);

    /// <summary>Distance of a code from its table (sum of one entry per sub-quantizer).</summary>
    public float AsymmetricDistance(ReadOnlySpan<float> table, ReadOnlySpan<byte> code)
    {
        if (code.Length != CodeSize) throw new ArgumentException($"A code is {CodeSize} bytes.", nameof(code));
        if (table.Length < SubQuantizers * CentroidsPerSubQuantizer) throw new ArgumentException("The table is too short.", nameof(table));
        return AdcScan.Distance(table, code);
    }

    private static float[] ExtractSlice(ReadOnlySpan<float> vectors, int n, int dimension, int offset, int length)
    {
        var slice = new float[(long)n * length];
        for (int i = 0; i < n; i++) vectors.Slice(i * dimension + offset, length).CopyTo(slice.AsSpan(i * length, length));
        return slice;
    }
}
