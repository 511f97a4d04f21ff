using EmbeddedVectors.Kernels;

namespace EmbeddedVectors.Training;

/// <summary>
/// Product quantization (Jégou et al.): the vector is cut into <see cref="SubQuantizers"/> equal slices and each
/// slice is replaced by the nearest of 2^<see cref="Bits"/> centroids learned for it (256 for 8-bit codes, 16 for
/// the 4-bit codes of fast-scan). Codes are returned one byte a slice either way; fast-scan packs them later.
/// Codebooks are laid out <c>[subquantizer][centroid][SubDimension]</c>.
/// </summary>
public sealed class ProductQuantizer
{
    /// <summary>Centroids per sub-quantizer of 8-bit codes: 256, so a code fits one byte.</summary>
    public const int CentroidsPerSubQuantizer = 256;

    private readonly float[] _codebooks;
    private readonly CentroidTable[] _nearestTables;
    private readonly CentroidTable[] _innerProductTables;

    private ProductQuantizer(int dimension, int subQuantizers, int bits, float[] codebooks)
    {
        Dimension = dimension;
        SubQuantizers = subQuantizers;
        Bits = bits;
        Centroids = 1 << bits;
        SubDimension = dimension / subQuantizers;
        _codebooks = codebooks;
        _nearestTables = new CentroidTable[subQuantizers];
        _innerProductTables = new CentroidTable[subQuantizers];
        for (int j = 0; j < subQuantizers; j++)
        {
            var book = Codebook(j);
            _nearestTables[j] = new CentroidTable(book, Centroids, SubDimension, Metric.L2);
            _innerProductTables[j] = new CentroidTable(book, Centroids, SubDimension, Metric.InnerProduct);
        }
    }

    /// <summary>Length of the vectors encoded.</summary>
    public int Dimension { get; }

    /// <summary>Number of sub-quantizers (<c>m</c>), which is also the code size in bytes.</summary>
    public int SubQuantizers { get; }

    /// <summary>Bits a sub-quantizer code: 8 (256 centroids) or 4 (16 centroids, for fast-scan).</summary>
    public int Bits { get; }

    /// <summary>Centroids per sub-quantizer: 2^<see cref="Bits"/>.</summary>
    public int Centroids { get; }

    /// <summary>Floats in a distance table: <c>SubQuantizers × Centroids</c>.</summary>
    public int TableLength => SubQuantizers * Centroids;

    /// <summary>Length of each slice: <c>Dimension / SubQuantizers</c>.</summary>
    public int SubDimension { get; }

    /// <summary>Bytes in one code.</summary>
    public int CodeSize => SubQuantizers;

    /// <summary>All codebooks, <c>SubQuantizers × Centroids × SubDimension</c> values.</summary>
    public ReadOnlySpan<float> Codebooks => _codebooks;

    /// <summary>The centroids of sub-quantizer <paramref name="subQuantizer"/>, row-major.</summary>
    public ReadOnlySpan<float> Codebook(int subQuantizer)
        => _codebooks.AsSpan(subQuantizer * Centroids * SubDimension, Centroids * SubDimension);

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

    /// <summary>Learns the codebooks from <paramref name="n"/> row-major training vectors (at least 2^bits are needed).</summary>
    /// <exception cref="ArgumentException">The shape does not fit, there are fewer vectors than centroids, or a value is not finite.</exception>
    public static ProductQuantizer Train(ReadOnlySpan<float> vectors, int n, int dimension, int subQuantizers, KMeansOptions? options = null, int bits = 8)
    {
        ValidateShape(dimension, subQuantizers);
        ValidateBits(bits);
        int centroids = 1 << bits;
        if (n < centroids)
            throw new ArgumentException($"Product quantization needs at least {centroids} training vectors (one per centroid); got {n}.", nameof(n));
        if (vectors.Length != (long)n * dimension)
            throw new ArgumentException($"Expected {n} × {dimension} values, got {vectors.Length}.", nameof(vectors));
        VectorChecks.ThrowIfNotFinite(vectors, dimension, nameof(vectors));
        options ??= new KMeansOptions();

        int sub = dimension / subQuantizers;
        var codebooks = new float[subQuantizers * centroids * sub];
        // Slices train independently, so the cores split the slices rather than each k-means run.
        var slices = new float[subQuantizers][];
        for (int j = 0; j < subQuantizers; j++) slices[j] = ExtractSlice(vectors, n, dimension, j * sub, sub);
        var perSlice = options with { Threads = 1 };
        Parallel.For(0, subQuantizers, Parallelism.Options(options.Threads), j =>
        {
            var result = KMeans.Train(slices[j], n, sub, centroids, perSlice with { Seed = options.Seed + j });
            result.Centroids.CopyTo(codebooks, j * centroids * sub);
        });
        return new ProductQuantizer(dimension, subQuantizers, bits, codebooks);
    }

    /// <summary>Rebuilds a quantizer from stored codebooks.</summary>
    /// <exception cref="ArgumentException">The codebooks' length does not match the shape, or a value is not finite.</exception>
    public static ProductQuantizer FromCodebooks(int dimension, int subQuantizers, ReadOnlySpan<float> codebooks, int bits = 8)
    {
        ValidateShape(dimension, subQuantizers);
        ValidateBits(bits);
        if (codebooks.Length != (1 << bits) * dimension)
            throw new ArgumentException($"Expected {1 << bits} × {dimension} codebook values, got {codebooks.Length}.", nameof(codebooks));
        VectorChecks.ThrowIfNotFinite(codebooks, dimension / subQuantizers, nameof(codebooks));
        return new ProductQuantizer(dimension, subQuantizers, bits, codebooks.ToArray());
    }

    private static void ValidateBits(int bits)
    {
        if (bits is not (4 or 8)) throw new ArgumentOutOfRangeException(nameof(bits), bits, "Codes are 8 bits (256 centroids) or 4 bits (16 centroids, fast-scan).");
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
                _codebooks.AsSpan((j * Centroids + c) * SubDimension, SubDimension)
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
        if (table.Length < TableLength) throw new ArgumentException("The table is too short.", nameof(table));
        var tables = metric == Metric.InnerProduct ? _innerProductTables : _nearestTables;
        for (int j = 0; j < SubQuantizers; j++)
            tables[j].ComputeAll(query.Slice(j * SubDimension, SubDimension), table.Slice(j * Centroids, Centroids));
    }

    /// <summary>−⟨q_j, c⟩ for every slice and centroid: the query-dependent half of IVFPQ's precomputed tables.</summary>
    internal void ComputeInnerProductTable(ReadOnlySpan<float> query, Span<float> table)
        => ComputeDistanceTable(query, Metric.InnerProduct, table);

    /// <summary>Distance of a code (one byte a sub-quantizer) from its table: the sum of one entry per sub-quantizer.</summary>
    public float AsymmetricDistance(ReadOnlySpan<float> table, ReadOnlySpan<byte> code)
    {
        if (code.Length != CodeSize) throw new ArgumentException($"A code is {CodeSize} bytes.", nameof(code));
        if (table.Length < TableLength) throw new ArgumentException("The table is too short.", nameof(table));
        float sum = 0;
        for (int j = 0; j < SubQuantizers; j++) sum += table[j * Centroids + code[j]];
        return sum;
    }

    private static float[] ExtractSlice(ReadOnlySpan<float> vectors, int n, int dimension, int offset, int length)
    {
        var slice = new float[(long)n * length];
        for (int i = 0; i < n; i++) vectors.Slice(i * dimension + offset, length).CopyTo(slice.AsSpan(i * length, length));
        return slice;
    }
}
