using EmbeddedVectors.Kernels;
using EmbeddedVectors.Search;

namespace EmbeddedVectors.Training;

/// <summary>
/// The trained half of IVFPQ, shared by the in-memory index and the on-disk store: the coarse quantizer, the
/// product quantizer of residuals, and the per-cell distance tables. It encodes vectors and prepares the
/// distance table of each probed cell; where the codes live is the caller's business.
/// </summary>
/// <remarks>
/// For L2 the distance to a code splits as ‖q − c − r‖² = ‖q − c‖² + (‖r‖² + 2⟨c, r⟩) − 2⟨q, r⟩. The middle
/// term depends only on the cell and the code, so it is computed once (the "precomputed tables" of FAISS); the
/// last depends only on the query. Probing a cell then costs one table addition, not a table build.
/// For inner product, −⟨q, c + r⟩ = −⟨q, c⟩ − ⟨q, r⟩, and one query table serves every cell.
/// </remarks>
internal sealed class IvfPqQuantizer
{
    private readonly float[]? _precomputed;
    private readonly float[]? _codewordNorms;
    private readonly byte[]? _precomputedReady;

    public IvfPqQuantizer(CoarseQuantizer coarse, ProductQuantizer pq, long maxPrecomputedTableBytes, OpqRotation? rotation = null)
    {
        if (coarse.Dimension != pq.Dimension) throw new ArgumentException("The coarse and product quantizers differ in dimension.");
        if (rotation != null && rotation.Dimension != coarse.Dimension) throw new ArgumentException("The rotation differs in dimension from the quantizers.");
        Coarse = coarse;
        Pq = pq;
        Rotation = rotation;
        if (RankingMetric == Metric.L2 && (long)coarse.NList * pq.TableLength * sizeof(float) <= maxPrecomputedTableBytes)
        {
            // Built lazily, a cell the first time it is probed: opening a store costs nothing proportional to
            // nlist × m × 256, and the pages of cells never probed are never touched.
            _precomputed = new float[(long)coarse.NList * pq.TableLength];
            _precomputedReady = new byte[coarse.NList];
            _codewordNorms = CodewordNorms(pq);
        }
    }

    public CoarseQuantizer Coarse { get; }

    /// <summary>
    /// The OPQ rotation applied before both quantizers, or null. It is orthogonal, so distances and inner
    /// products are the same before and after it: only the codes live in the rotated space.
    /// </summary>
    public OpqRotation? Rotation { get; }
    public ProductQuantizer Pq { get; }
    public int Dimension => Coarse.Dimension;
    public int NList => Coarse.NList;
    public int CodeSize => Pq.CodeSize;
    public int TableLength => Pq.TableLength;
    public Metric RankingMetric => Coarse.RankingMetric;
    public bool UsesPrecomputedTables => _precomputed != null;

    /// <summary>Trains the coarse quantizer on <paramref name="n"/> vectors, then the PQ on their residuals.</summary>
    public static IvfPqQuantizer Train(ReadOnlySpan<float> vectors, int n, int dimension, int nlist, int m, Metric rankingMetric,
        KMeansOptions kmeans, long maxPrecomputedTableBytes, int bits = 8, int opqIterations = 0, int coarseGraphMinNList = CoarseQuantizer.DefaultGraphMinNList)
    {
        ProductQuantizer.ValidateShape(dimension, m);
        OpqRotation? rotation = null;
        if (opqIterations > 0)
        {
            rotation = OpqRotation.Train(vectors, n, dimension, m, bits, opqIterations, kmeans);
            var rotated = new float[(long)n * dimension];
            rotation.ApplyMany(vectors, n, rotated);
            vectors = rotated;
        }
        var coarse = CoarseQuantizer.Train(vectors, n, dimension, nlist, rankingMetric, kmeans, coarseGraphMinNList);
        var lists = new int[n];
        coarse.Assign(vectors, n, lists);
        var residuals = new float[(long)n * dimension];
        for (int i = 0; i < n; i++)
            Residual(coarse, vectors.Slice(i * dimension, dimension), lists[i], residuals.AsSpan(i * dimension, dimension));
        var pq = ProductQuantizer.Train(residuals, n, dimension, m, kmeans, bits);
        return new IvfPqQuantizer(coarse, pq, maxPrecomputedTableBytes, rotation);
    }

    /// <summary>The cell and the residual code of each of <paramref name="n"/> row-major vectors (given unrotated).</summary>
    public void Encode(ReadOnlySpan<float> vectors, int n, Span<int> lists, Span<byte> codes) => Encode(vectors, n, lists, codes, out _);

    /// <summary>
    /// As <see cref="Encode(ReadOnlySpan{float}, int, Span{int}, Span{byte})"/>, and the sum over the vectors of the
    /// squared distance to their cell's centroid (the coarse quantization error, watched for drift).
    /// </summary>
    public void Encode(ReadOnlySpan<float> vectors, int n, Span<int> lists, Span<byte> codes, out double squaredResidualSum)
    {
        if (lists.Length < n || codes.Length < (long)n * CodeSize) throw new ArgumentException("Output spans are too short.");
        if (Rotation != null)
        {
            var rotated = new float[(long)n * Dimension];
            Rotation.ApplyMany(vectors, n, rotated);
            vectors = rotated;
        }
        Coarse.Assign(vectors, n, lists);
        const int chunk = 4096;
        var residuals = new float[Math.Min(n, chunk) * Dimension];
        squaredResidualSum = 0;
        for (int start = 0; start < n; start += chunk)
        {
            int count = Math.Min(chunk, n - start);
            for (int i = 0; i < count; i++)
            {
                var residual = residuals.AsSpan(i * Dimension, Dimension);
                Residual(Coarse, vectors.Slice((start + i) * Dimension, Dimension), lists[start + i], residual);
                squaredResidualSum += VectorKernels.SquaredNorm(residual);
            }
            Pq.Encode(residuals.AsSpan(0, count * Dimension), codes.Slice(start * CodeSize, count * CodeSize));
        }
    }

    /// <summary>
    /// The query in the quantizers' space: rotated into <paramref name="scratch"/> when there is an OPQ rotation,
    /// else the query itself. Pass the result to <see cref="Prepare"/> and <see cref="CellTable"/>; exact
    /// re-ranking uses the original query, since stored vectors are unrotated.
    /// </summary>
    public ReadOnlySpan<float> QuantizerSpace(ReadOnlySpan<float> query, Span<float> scratch)
    {
        if (Rotation == null) return query;
        Rotation.Apply(query, scratch);
        return scratch;
    }

    /// <summary>
    /// Everything about a query that does not depend on the cell: the probed cells (nearest first, in
    /// <paramref name="lists"/>/<paramref name="distances"/>) and, where the metric allows, the query table.
    /// Returns the number of cells probed.
    /// </summary>
    public int Prepare(ReadOnlySpan<float> query, Span<long> lists, Span<float> distances, Span<float> queryTable)
    {
        int probed = Coarse.Probe(query, lists, distances);
        if (RankingMetric == Metric.InnerProduct || _precomputed != null) Pq.ComputeInnerProductTable(query, queryTable);
        return probed;
    }

    /// <summary>The distance table of one probed cell and the bias every code in it shares.</summary>
    public ReadOnlySpan<float> CellTable(ReadOnlySpan<float> query, int list, float cellDistance, ReadOnlySpan<float> queryTable,
        Span<float> cellTable, out float bias)
    {
        if (RankingMetric == Metric.InnerProduct)
        {
            bias = cellDistance;
            return queryTable;
        }
        if (_precomputed != null)
        {
            VectorKernels.MultiplyAdd(PrecomputedTable(list), queryTable, 2f, cellTable);
            bias = cellDistance;
            return cellTable;
        }
        var residual = SearchScratch.Current.Vector(Dimension);
        Residual(Coarse, query, list, residual);
        Pq.ComputeDistanceTable(residual, Metric.L2, cellTable);
        bias = 0f;
        return cellTable;
    }

    /// <summary>
    /// The approximation a code stands for, unrotated: the cell's centroid plus the decoded residual, turned back
    /// by the transpose of the OPQ rotation. For stores that keep no full vectors.
    /// </summary>
    public void Reconstruct(int list, ReadOnlySpan<byte> code, Span<float> vector)
    {
        var rotated = new float[Dimension];
        Pq.Decode(code, rotated);
        VectorKernels.MultiplyAdd(Coarse.Centroid(list), rotated, 1f, rotated);
        if (Rotation == null)
        {
            rotated.CopyTo(vector);
            return;
        }
        var matrix = Rotation.Matrix; // rotated = vector·R, so vector = rotated·Rᵀ
        for (int i = 0; i < Dimension; i++) vector[i] = VectorKernels.Dot(matrix.Slice(i * Dimension, Dimension), rotated);
    }

    /// <summary>‖r‖² + 2⟨c_l, r⟩ for cell l, every sub-quantizer and code word r; computed on first use.</summary>
    private ReadOnlySpan<float> PrecomputedTable(int list)
    {
        var table = _precomputed.AsSpan(list * TableLength, TableLength);
        if (Volatile.Read(ref _precomputedReady![list]) != 0) return table;
        // Built aside and copied in: two threads may fill the same cell at once, and they copy the same final values.
        var built = SearchScratch.Current.CellTableBuild(TableLength);
        Pq.ComputeInnerProductTable(Coarse.Centroid(list), built); // −⟨c_l, r⟩
        VectorKernels.MultiplyAdd(_codewordNorms, built, -2f, built);
        built.CopyTo(table);
        Volatile.Write(ref _precomputedReady[list], 1);
        return table;
    }

    private static float[] CodewordNorms(ProductQuantizer pq)
    {
        var norms = new float[pq.TableLength];
        for (int j = 0; j < pq.SubQuantizers; j++)
        {
            var book = pq.Codebook(j);
            for (int c = 0; c < pq.Centroids; c++) norms[j * pq.Centroids + c] = VectorKernels.SquaredNorm(book.Slice(c * pq.SubDimension, pq.SubDimension));
        }
        return norms;
    }

    private static void Residual(CoarseQuantizer coarse, ReadOnlySpan<float> vector, int list, Span<float> residual)
        => VectorKernels.MultiplyAdd(vector, coarse.Centroid(list), -1f, residual);
}
