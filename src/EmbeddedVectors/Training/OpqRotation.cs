using System.Numerics;
using EmbeddedVectors.Kernels;

namespace EmbeddedVectors.Training;

/// <summary>
/// An orthogonal d×d rotation <c>R</c> learned by optimized product quantization (OPQ; Ge, He, Ke and Sun, the
/// non-parametric variant FAISS's <c>OPQMatrix</c> uses): product-quantizing <c>x·R</c> instead of <c>x</c> loses
/// less, because the rotation balances the variance between the sub-quantizers and aligns correlated directions
/// with the slices. The rotation preserves distances and inner products, so a rotated query can be searched
/// against rotated codes with no other change.
/// </summary>
/// <remarks>
/// <para>
/// Training alternates, <c>iterations</c> times, between a product quantizer and the rotation. Starting from a
/// seeded random orthogonal matrix (as FAISS does; it spreads the variance over the slices before the first
/// round): rotate <c>Y = X·R</c>; train <c>m</c> sub-quantizers on <c>Y</c> with a few Lloyd iterations (the first
/// round from a random sample of points, later rounds warm-started from the previous round's codebooks, as FAISS's
/// hot start); reconstruct <c>Ŷ = decode(encode(Y))</c>; and replace <c>R</c> by the orthogonal Procrustes solution
/// <c>argmin ‖X·R − Ŷ‖_F</c>, the polar factor of <c>M = Xᵀ·Ŷ</c>.
/// </para>
/// <para>
/// The polar factor is computed without LAPACK, in double precision, by the Newton–Schulz iteration
/// <c>Z ← Z·(3I − ZᵀZ)/2</c> from <c>Z₀ = M/‖M‖_F</c>, with Chen and Chow's scaling in the early steps (small singular
/// values grow about 2.6 times a step instead of 1.5), until <c>‖ZᵀZ − I‖_F &lt; 1e-6</c>, plus one more plain step
/// that brings the deviation to about 1e-12: about 20 steps of two d×d products (≈ 50 ms for d = 384). A tiny proximal term (<c>M + 1e-6·‖M‖_F·R_previous</c>) keeps <c>M</c>
/// nonsingular when the training vectors do not span every direction (fewer vectors than dimensions, or constant
/// coordinates), so the iteration always converges and the undetermined directions follow the previous rotation.
/// </para>
/// <para>At most 65,536 training vectors are used, drawn at random with the k-means seed.</para>
/// </remarks>
public sealed class OpqRotation
{
    /// <summary>Training vectors used at most; more are sampled down (FAISS's OPQ default).</summary>
    internal const int MaxTrainingVectors = 65_536;

    /// <summary>Lloyd iterations per round when no k-means options are given (FAISS's <c>niter_pq</c>).</summary>
    internal const int DefaultInnerIterations = 4;

    /// <summary>Sample cap per centroid of the inner k-means when no options are given (FAISS's OPQ setting).</summary>
    internal const int DefaultPointsPerCentroid = 1000;

    /// <summary>Largest <c>|RᵀR − I|</c> entry <see cref="FromMatrix"/> accepts.</summary>
    internal const double OrthogonalityTolerance = 1e-3;

    private const double ProximalWeight = 1e-6;
    private const double PolarTolerance = 1e-6;
    private const int MaxPolarIterations = 100;
    private const int AssignChunk = 256;

    private readonly float[] _matrix;
    private readonly float[] _packed;
    private readonly double[] _trainingErrors;
    private readonly int[] _polarSteps;

    private OpqRotation(int dimension, float[] matrix, double[]? trainingErrors = null, int[]? polarSteps = null)
    {
        Dimension = dimension;
        _matrix = matrix;
        _packed = new float[MatrixKernels.PackedLength<float>(dimension, dimension)];
        MatrixKernels.Pack<float>(matrix, dimension, dimension, _packed);
        _trainingErrors = trainingErrors ?? [];
        _polarSteps = polarSteps ?? [];
    }

    /// <summary>Length of the vectors rotated.</summary>
    public int Dimension { get; }

    /// <summary>The rotation <c>R</c>, <c>Dimension × Dimension</c> row-major; a (row) vector <c>x</c> is rotated as <c>x·R</c>.</summary>
    public ReadOnlySpan<float> Matrix => _matrix;

    /// <summary>
    /// For each training round, the mean squared product-quantization error of the training sample under the
    /// rotation that round started from (empty unless the rotation was trained).
    /// </summary>
    internal IReadOnlyList<double> TrainingErrors => _trainingErrors;

    /// <summary>For each training round, the Newton–Schulz steps its polar factor took.</summary>
    internal IReadOnlyList<int> PolarSteps => _polarSteps;

    /// <summary>
    /// Learns a rotation from <paramref name="n"/> row-major training vectors for a product quantizer of
    /// <paramref name="m"/> sub-quantizers with <paramref name="bits"/>-bit codes.
    /// </summary>
    /// <param name="vectors">The training vectors, <c>n × dimension</c> values; at most 65,536 of them are sampled.</param>
    /// <param name="n">Number of training vectors: at least 2^<paramref name="bits"/>.</param>
    /// <param name="dimension">Length of each vector; <paramref name="m"/> must divide it.</param>
    /// <param name="m">Number of sub-quantizers of the product quantizer the rotation is for.</param>
    /// <param name="bits">Bits a sub-quantizer code: 8 (256 centroids) or 4 (16 centroids, fast-scan).</param>
    /// <param name="iterations">Rounds of alternating optimization (FAISS uses 50; 20 gets most of the gain).</param>
    /// <param name="kmeans">
    /// Settings of the inner k-means: <see cref="KMeansOptions.Iterations"/> Lloyd iterations per round,
    /// <see cref="KMeansOptions.Seed"/> (also for the sample and the starting rotation),
    /// <see cref="KMeansOptions.MaxPointsPerCentroid"/>, <see cref="KMeansOptions.Init"/> (first round) and
    /// <see cref="KMeansOptions.Threads"/> (every parallel step). Null means 4 iterations and 1,000 points per
    /// centroid (FAISS's OPQ settings), seed 1234, every core.
    /// </param>
    /// <exception cref="ArgumentException">
    /// <paramref name="m"/> does not divide <paramref name="dimension"/>, there are fewer than 2^<paramref name="bits"/>
    /// vectors, the length of <paramref name="vectors"/> is not <c>n × dimension</c>, or a value is NaN or infinite.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bits"/> is not 4 or 8, <paramref name="iterations"/> is below 1, or an option is out of range.</exception>
    public static OpqRotation Train(ReadOnlySpan<float> vectors, int n, int dimension, int m, int bits = 8, int iterations = 20, KMeansOptions? kmeans = null)
        => Train(vectors, n, dimension, m, bits, iterations, kmeans, randomStart: true);

    /// <summary><see cref="Train(ReadOnlySpan{float}, int, int, int, int, int, KMeansOptions?)"/> with a choice of starting rotation (identity or random).</summary>
    internal static OpqRotation Train(ReadOnlySpan<float> vectors, int n, int dimension, int m, int bits, int iterations, KMeansOptions? kmeans, bool randomStart)
    {
        ProductQuantizer.ValidateShape(dimension, m);
        if (bits is not (4 or 8))
            throw new ArgumentOutOfRangeException(nameof(bits), bits, "Codes are 8 bits (256 centroids) or 4 bits (16 centroids, fast-scan).");
        if (iterations < 1)
            throw new ArgumentOutOfRangeException(nameof(iterations), iterations, "OPQ needs at least one iteration.");
        int centroids = 1 << bits;
        if (n < centroids)
            throw new ArgumentException(
                $"OPQ trains {bits}-bit sub-quantizers ({centroids} centroids each) and needs at least {centroids} training vectors; got {n}.", nameof(n));
        if (vectors.Length != (long)n * dimension)
            throw new ArgumentException($"Expected {n} × {dimension} = {(long)n * dimension} values, got {vectors.Length}.", nameof(vectors));
        kmeans?.Validate();
        var options = kmeans ?? new KMeansOptions { Iterations = DefaultInnerIterations, MaxPointsPerCentroid = DefaultPointsPerCentroid };
        VectorChecks.ThrowIfNotFinite(vectors, dimension, nameof(vectors));

        var random = new Random(options.Seed);
        int count = Math.Min(n, MaxTrainingVectors);
        var sample = new float[(long)count * dimension];
        int[] chosen = KMeans.PartialShuffle(n, count, random);
        for (int i = 0; i < count; i++)
            vectors.Slice(chosen[i] * dimension, dimension).CopyTo(sample.AsSpan(i * dimension, dimension));

        double[] rotation = randomStart ? RandomOrthogonal(dimension, random) : IdentityMatrix(dimension);
        var trainer = new Trainer(sample, count, dimension, m, centroids, options);
        for (int round = 0; round < iterations; round++) rotation = trainer.Round(round, rotation);
        return new OpqRotation(dimension, ToSingle(rotation), [.. trainer.Errors], [.. trainer.PolarSteps]);
    }

    /// <summary>Rebuilds a rotation from a stored <paramref name="dimension"/> × <paramref name="dimension"/> row-major matrix.</summary>
    /// <exception cref="ArgumentException">
    /// The matrix does not hold <c>dimension²</c> values, a value is NaN or infinite, or it is not orthogonal
    /// (an entry of <c>RᵀR − I</c> exceeds 1e-3 in magnitude; the message names the deviation).
    /// </exception>
    public static OpqRotation FromMatrix(int dimension, ReadOnlySpan<float> matrix)
    {
        if (dimension < 1) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "The dimension must be positive.");
        if (matrix.Length != (long)dimension * dimension)
            throw new ArgumentException(
                $"A {dimension}-dimensional rotation has {dimension} × {dimension} = {(long)dimension * dimension} values, got {matrix.Length}.", nameof(matrix));
        for (int i = 0; i < matrix.Length; i++)
        {
            if (!float.IsFinite(matrix[i]))
                throw new ArgumentException(
                    $"The rotation has a {(float.IsNaN(matrix[i]) ? "NaN" : "infinite")} value at row {i / dimension}, column {i % dimension}.", nameof(matrix));
        }
        (double deviation, int row, int column) = MaxDeviationFromOrthogonal(matrix, dimension);
        if (!(deviation < OrthogonalityTolerance))
            throw new ArgumentException(
                $"The matrix is not orthogonal: max |RᵀR − I| = {deviation:G4} (at row {row}, column {column}); it must be below {OrthogonalityTolerance:G}.",
                nameof(matrix));
        return new OpqRotation(dimension, matrix.ToArray());
    }

    /// <summary>The rotation that changes nothing (for a product quantizer trained without OPQ).</summary>
    public static OpqRotation Identity(int dimension)
    {
        if (dimension < 1) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "The dimension must be positive.");
        return new OpqRotation(dimension, ToSingle(IdentityMatrix(dimension)));
    }

    /// <summary>Rotates one vector: <c>rotated = vector·R</c>. Values are not checked: a NaN in gives NaNs out.</summary>
    /// <exception cref="ArgumentException">A span's length is not <see cref="Dimension"/>, or the two overlap.</exception>
    public void Apply(ReadOnlySpan<float> vector, Span<float> rotated)
    {
        if (vector.Length != Dimension)
            throw new ArgumentException($"The vector has {vector.Length} values; the rotation is {Dimension}-dimensional.", nameof(vector));
        if (rotated.Length != Dimension)
            throw new ArgumentException($"The output has {rotated.Length} values; the rotation is {Dimension}-dimensional.", nameof(rotated));
        if (vector.Overlaps(rotated)) throw new ArgumentException("The output must not overlap the input.", nameof(rotated));
        MatrixKernels.MultiplyPacked<float>(vector, 1, Dimension, _packed, Dimension, rotated, accumulate: false);
    }

    /// <summary>Rotates <paramref name="n"/> row-major vectors, in parallel blocks of rows. Values are not checked.</summary>
    /// <exception cref="ArgumentException">A span's length is not <c>n × Dimension</c>, or the two overlap.</exception>
    public void ApplyMany(ReadOnlySpan<float> vectors, int n, Span<float> rotated)
    {
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "The vector count cannot be negative.");
        long expected = (long)n * Dimension;
        if (vectors.Length != expected)
            throw new ArgumentException($"Expected {n} × {Dimension} = {expected} values, got {vectors.Length}.", nameof(vectors));
        if (rotated.Length != expected)
            throw new ArgumentException($"The output needs {n} × {Dimension} = {expected} values, got {rotated.Length}.", nameof(rotated));
        if (n == 0) return;
        if (vectors.Overlaps(rotated)) throw new ArgumentException("The output must not overlap the input.", nameof(rotated));
        MatrixKernels.Multiply<float>(vectors, n, Dimension, _packed, Dimension, rotated, threads: 0);
    }

    /// <summary>
    /// The orthogonal polar factor <c>U·Vᵀ</c> of the <paramref name="dimension"/>-square matrix <paramref name="m"/>
    /// (<c>M = U·S·Vᵀ</c>), in double precision; null when <c>M</c> is zero.
    /// </summary>
    /// <remarks>
    /// Scaled Newton–Schulz (Chen and Chow): from <c>Z₀ = M/‖M‖_F</c>, whose singular values lie in <c>(0, 1]</c>,
    /// each step is <c>Z ← (α/2)·Z·(3I − α²·ZᵀZ)</c> with <c>α = √(3/(1 + ℓ + ℓ²))</c> for a running lower bound
    /// <c>ℓ</c> of the singular values (<c>ℓ ← (α/2)·ℓ·(3 − α²ℓ²)</c>, starting at <paramref name="lowerBound"/>).
    /// The step maps <c>[ℓ, 1]</c> into <c>[ℓ', 1]</c>, so small singular values grow about 2.6 times a step instead of
    /// the plain iteration's 1.5, and as <c>ℓ → 1</c> it becomes the plain step with its quadratic convergence. A
    /// bound set too high only slows the smallest values down (the step still maps <c>[0, 1]</c> into itself). Stops
    /// after the step taken at <c>‖ZᵀZ − I‖_F &lt; 1e-6</c> (leaving about 1e-12). A singular <c>M</c> would never
    /// converge: after 100 steps the rows are orthonormalised (Gram–Schmidt) and polished instead.
    /// </remarks>
    internal static double[]? PolarFactor(ReadOnlySpan<double> m, int dimension, double lowerBound, int threads, out int steps)
    {
        int d = dimension;
        steps = 0;
        double norm = Math.Sqrt(SquaredNorm(m[..(d * d)]));
        if (!(norm > 0) || !double.IsFinite(norm)) return null;
        var z = new double[d * d];
        for (int i = 0; i < z.Length; i++) z[i] = m[i] / norm;
        var work = new double[d * d];
        var product = new double[d * d];
        var packed = new double[MatrixKernels.PackedLength<double>(d, d)];
        double bound = Math.Clamp(lowerBound, 0, 1);
        bool converged = false;
        while (steps < MaxPolarIterations)
        {
            steps++;
            double residual = Gram(z, work, product, packed, d, threads);
            if (residual < PolarTolerance)
            {
                Step(ref z, ref work, product, packed, d, 1, threads); // the polishing step: plain, quadratic
                converged = true;
                break;
            }
            // |σ² − 1| ≤ ‖ZᵀZ − I‖₂ ≤ residual: near convergence the residual itself bounds the singular values.
            if (residual < 1) bound = Math.Max(bound, Math.Sqrt(1 - residual));
            double alpha = Math.Sqrt(3 / (1 + bound + bound * bound));
            Step(ref z, ref work, product, packed, d, alpha, threads);
            bound = Math.Min(1, 0.5 * alpha * bound * (3 - alpha * alpha * bound * bound));
        }
        if (!converged)
        {
            OrthonormalizeRows(z, d);
            for (int polish = 0; polish < 3; polish++)
            {
                steps++;
                double residual = Gram(z, work, product, packed, d, threads);
                Step(ref z, ref work, product, packed, d, 1, threads);
                if (residual < PolarTolerance) break;
            }
        }
        return z;
    }

    /// <summary>Computes <c>ZᵀZ</c> into <paramref name="product"/> and returns <c>‖ZᵀZ − I‖_F</c>.</summary>
    private static double Gram(double[] z, double[] work, double[] product, double[] packed, int d, int threads)
    {
        MatrixKernels.Transpose<double>(z, d, d, work);
        MatrixKernels.Pack<double>(z, d, d, packed);
        MatrixKernels.Multiply<double>(work, d, d, packed, d, product, threads);
        double residual = 0;
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < d; j++)
            {
                double e = product[i * d + j] - (i == j ? 1 : 0);
                residual += e * e;
            }
        }
        return Math.Sqrt(residual);
    }

    /// <summary><c>Z ← (α/2)·Z·(3I − α²·P)</c> where <paramref name="product"/> holds <c>P = ZᵀZ</c> (overwritten).</summary>
    private static void Step(ref double[] z, ref double[] work, double[] product, double[] packed, int d, double alpha, int threads)
    {
        double half = 0.5 * alpha, cube = 0.5 * alpha * alpha * alpha;
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < d; j++)
            {
                ref double p = ref product[i * d + j];
                p = (i == j ? 3 * half : 0) - cube * p;
            }
        }
        MatrixKernels.Pack<double>(product, d, d, packed);
        MatrixKernels.Multiply<double>(z, d, d, packed, d, work, threads);
        (z, work) = (work, z);
    }

    /// <summary>Modified Gram–Schmidt, twice, on the rows; a row left without a direction of its own gets a free basis vector.</summary>
    internal static void OrthonormalizeRows(double[] a, int d)
    {
        for (int i = 0; i < d; i++)
        {
            var row = a.AsSpan(i * d, d);
            double before = Math.Sqrt(SquaredNorm(row));
            ProjectOut(a, i, d);
            double after = Math.Sqrt(SquaredNorm(row));
            if (!(after > 1e-6 * before) || !(after > 1e-300))
            {
                // The row lies in the span of the earlier ones: take the basis vector farthest from that span instead.
                // ‖e_t − Σ q_j q_j[t]‖² = 1 − Σ q_j[t]², and these sum to d − i over t, so the best is at least 1/d.
                int best = 0;
                double farthest = double.NegativeInfinity;
                for (int t = 0; t < d; t++)
                {
                    double distance = 1;
                    for (int j = 0; j < i; j++) distance -= a[j * d + t] * a[j * d + t];
                    if (distance > farthest)
                    {
                        farthest = distance;
                        best = t;
                    }
                }
                row.Clear();
                row[best] = 1;
                ProjectOut(a, i, d);
                after = Math.Sqrt(SquaredNorm(row));
            }
            double inverse = 1 / after;
            for (int j = 0; j < d; j++) row[j] *= inverse;
        }
    }

    private static void ProjectOut(double[] a, int i, int d)
    {
        var row = a.AsSpan(i * d, d);
        for (int pass = 0; pass < 2; pass++)
        {
            for (int j = 0; j < i; j++)
            {
                var q = a.AsSpan(j * d, d);
                double dot = Dot(row, q);
                AddScaled(row, q, -dot);
            }
        }
    }

    private static double[] RandomOrthogonal(int d, Random random)
    {
        var a = new double[d * d];
        for (int i = 0; i < a.Length; i += 2)
        {
            // Box–Muller: two independent standard normals per pair of uniforms.
            double u = 1 - random.NextDouble(), v = random.NextDouble();
            double radius = Math.Sqrt(-2 * Math.Log(u));
            a[i] = radius * Math.Cos(2 * Math.PI * v);
            if (i + 1 < a.Length) a[i + 1] = radius * Math.Sin(2 * Math.PI * v);
        }
        OrthonormalizeRows(a, d); // QR of a Gaussian matrix: a Haar-random orthogonal matrix
        return a;
    }

    private static (double Deviation, int Row, int Column) MaxDeviationFromOrthogonal(ReadOnlySpan<float> matrix, int d)
    {
        var r = new double[d * d];
        for (int i = 0; i < r.Length; i++) r[i] = matrix[i];
        var transposed = new double[d * d];
        MatrixKernels.Transpose<double>(r, d, d, transposed);
        var product = new double[d * d];
        MatrixKernels.MultiplyRowMajor<double>(transposed, d, d, r, d, product, threads: 0);
        double worst = 0;
        int row = 0, column = 0;
        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < d; j++)
            {
                double e = Math.Abs(product[i * d + j] - (i == j ? 1 : 0));
                if (e > worst || double.IsNaN(e))
                {
                    worst = e;
                    row = i;
                    column = j;
                    if (double.IsNaN(e)) return (e, row, column);
                }
            }
        }
        return (worst, row, column);
    }

    private static double[] IdentityMatrix(int d)
    {
        var identity = new double[d * d];
        for (int i = 0; i < d; i++) identity[i * d + i] = 1;
        return identity;
    }

    private static float[] ToSingle(double[] values)
    {
        var result = new float[values.Length];
        for (int i = 0; i < values.Length; i++) result[i] = (float)values[i];
        return result;
    }

    private static double SquaredNorm(ReadOnlySpan<double> x) => Dot(x, x);

    private static double Dot(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        int i = 0;
        var sum = Vector<double>.Zero;
        for (; i <= x.Length - Vector<double>.Count; i += Vector<double>.Count)
            sum += new Vector<double>(x[i..]) * new Vector<double>(y[i..]);
        double total = Vector.Sum(sum);
        for (; i < x.Length; i++) total += x[i] * y[i];
        return total;
    }

    private static void AddScaled(Span<double> x, ReadOnlySpan<double> y, double scale)
    {
        int i = 0;
        var s = new Vector<double>(scale);
        for (; i <= x.Length - Vector<double>.Count; i += Vector<double>.Count)
            (new Vector<double>(x[i..]) + s * new Vector<double>(y[i..])).CopyTo(x[i..]);
        for (; i < x.Length; i++) x[i] += scale * y[i];
    }

    /// <summary>The state of one training run: buffers allocated once, reused by every round.</summary>
    private sealed class Trainer
    {
        private readonly float[] _x;
        private readonly int _count;
        private readonly int _dimension;
        private readonly int _m;
        private readonly int _k;
        private readonly int _sub;
        private readonly KMeansOptions _options;
        private readonly ParallelOptions _parallel;
        private readonly float[] _y;        // Y = X·R, row-major; then Ŷ
        private readonly float[] _slices;   // Y slice-major: [sub-quantizer][point][SubDimension]
        private readonly int[] _codes;      // [sub-quantizer][point]
        private readonly float[] _distances;
        private readonly float[] _centroids; // [sub-quantizer][centroid][SubDimension]
        private readonly double[] _sums;
        private readonly int[] _counts;
        private readonly float[] _rotation;
        private readonly float[] _packedRotation;
        private readonly double[] _cross;
        private readonly double[] _pointErrors; // per point, summed over sub-quantizers

        public Trainer(float[] x, int count, int dimension, int m, int k, KMeansOptions options)
        {
            _x = x;
            _count = count;
            _dimension = dimension;
            _m = m;
            _k = k;
            _sub = dimension / m;
            _options = options;
            _parallel = Parallelism.Options(options.Threads);
            _y = new float[x.Length];
            _slices = new float[x.Length];
            _codes = new int[m * count];
            _distances = new float[m * count];
            _centroids = new float[m * k * _sub];
            _sums = new double[m * k * _sub];
            _counts = new int[m * k];
            _rotation = new float[dimension * dimension];
            _packedRotation = new float[MatrixKernels.PackedLength<float>(dimension, dimension)];
            _cross = new double[dimension * dimension];
            _pointErrors = new double[count];
        }

        public List<double> Errors { get; } = [];

        public List<int> PolarSteps { get; } = [];

        /// <summary>One round: quantize <c>X·R</c>, then return the Procrustes rotation onto its reconstruction.</summary>
        public double[] Round(int round, double[] rotation)
        {
            int d = _dimension;
            for (int i = 0; i < rotation.Length; i++) _rotation[i] = (float)rotation[i];
            MatrixKernels.Pack<float>(_rotation, d, d, _packedRotation);
            MatrixKernels.Multiply<float>(_x, _count, d, _packedRotation, d, _y, _options.Threads);
            SplitSlices();
            if (round == 0) TrainFromScratch();
            else TrainWarm();
            Errors.Add(Reconstruct());

            MatrixKernels.MultiplyTransposedLeft(_x, _y, _count, d, d, _cross, _options.Threads);
            double norm = Math.Sqrt(SquaredNorm(_cross));
            double weight = ProximalWeight * norm;
            for (int i = 0; i < _cross.Length; i++) _cross[i] += weight * rotation[i];
            var next = PolarFactor(_cross, d, ProximalWeight, _options.Threads, out int steps);
            PolarSteps.Add(steps);
            return next ?? rotation; // M = 0 (all-zero data): nothing to learn
        }

        private void SplitSlices()
        {
            int d = _dimension, sub = _sub, count = _count, m = _m;
            int chunks = (count + AssignChunk - 1) / AssignChunk;
            Parallel.For(0, chunks, _parallel, chunk =>
            {
                int end = Math.Min(count, (chunk + 1) * AssignChunk);
                for (int i = chunk * AssignChunk; i < end; i++)
                    for (int j = 0; j < m; j++)
                        _y.AsSpan(i * d + j * sub, sub).CopyTo(_slices.AsSpan((j * count + i) * sub, sub));
            });
        }

        private Span<float> Slice(int j) => _slices.AsSpan(j * _count * _sub, _count * _sub);

        private Span<float> Codebook(int j) => _centroids.AsSpan(j * _k * _sub, _k * _sub);

        /// <summary>First round: every sub-quantizer trained by <see cref="KMeans.Train"/>, whose assignments are the codes.</summary>
        private void TrainFromScratch()
        {
            var perSlice = _options with { Threads = 1 };
            Parallel.For(0, _m, _parallel, j =>
            {
                var result = KMeans.Train(Slice(j), _count, _sub, _k, perSlice with { Seed = _options.Seed + j });
                result.Centroids.CopyTo(Codebook(j));
                result.Assignments.CopyTo(_codes.AsSpan(j * _count, _count));
            });
        }

        /// <summary>Later rounds: Lloyd iterations warm-started from the previous codebooks, then every point encoded.</summary>
        private void TrainWarm()
        {
            int sampleCount = (int)Math.Min(_count, (long)_k * _options.MaxPointsPerCentroid); // the sample is shuffled: a prefix is random
            for (int iteration = 0; iteration < _options.Iterations; iteration++)
            {
                Assign(sampleCount);
                Parallel.For(0, _m, _parallel, j => UpdateCentroids(j, sampleCount));
            }
            Assign(_count);
        }

        private void Assign(int points)
        {
            var tables = new CentroidTable[_m];
            for (int j = 0; j < _m; j++) tables[j] = new CentroidTable(Codebook(j), _k, _sub, Metric.L2);
            int chunks = (points + AssignChunk - 1) / AssignChunk;
            Parallel.For(0, _m * chunks, _parallel, item =>
            {
                int j = item / chunks, start = item % chunks * AssignChunk;
                int length = Math.Min(AssignChunk, points - start);
                int at = j * _count + start;
                tables[j].FindNearest(Slice(j).Slice(start * _sub, length * _sub), length, _codes.AsSpan(at, length), _distances.AsSpan(at, length));
            });
        }

        private void UpdateCentroids(int j, int points)
        {
            int sub = _sub, k = _k;
            var counts = _counts.AsSpan(j * k, k);
            var sums = _sums.AsSpan(j * k * sub, k * sub);
            var codes = _codes.AsSpan(j * _count, points);
            var slice = Slice(j);
            var book = Codebook(j);
            counts.Clear();
            sums.Clear();
            for (int i = 0; i < points; i++)
            {
                int c = codes[i];
                counts[c]++;
                var point = slice.Slice(i * sub, sub);
                var sum = sums.Slice(c * sub, sub);
                for (int t = 0; t < sub; t++) sum[t] += point[t];
            }
            for (int c = 0; c < k; c++)
            {
                if (counts[c] == 0) continue;
                double inverse = 1.0 / counts[c];
                for (int t = 0; t < sub; t++) book[c * sub + t] = (float)(sums[c * sub + t] * inverse);
            }
            // An empty cluster takes half of the largest one: both centroids move apart slightly (FAISS's split).
            for (int empty = 0; empty < k; empty++)
            {
                if (counts[empty] != 0) continue;
                int largest = 0;
                for (int c = 1; c < k; c++) if (counts[c] > counts[largest]) largest = c;
                if (counts[largest] < 2) break;
                for (int t = 0; t < sub; t++)
                {
                    float value = book[largest * sub + t];
                    float nudge = (t % 2 == 0 ? 1f : -1f) / 1024f;
                    book[empty * sub + t] = value * (1 + nudge) + nudge * 1e-3f;
                    book[largest * sub + t] = value * (1 - nudge) - nudge * 1e-3f;
                }
                counts[empty] = counts[largest] / 2;
                counts[largest] -= counts[empty];
            }
        }

        /// <summary>Writes Ŷ (each slice its centroid) over <c>Y</c> and returns the mean squared error per vector.</summary>
        private double Reconstruct()
        {
            int d = _dimension, sub = _sub, count = _count, m = _m;
            int chunks = (count + AssignChunk - 1) / AssignChunk;
            Parallel.For(0, chunks, _parallel, chunk =>
            {
                int end = Math.Min(count, (chunk + 1) * AssignChunk);
                for (int i = chunk * AssignChunk; i < end; i++)
                {
                    double error = 0;
                    for (int j = 0; j < m; j++)
                    {
                        var centroid = _centroids.AsSpan((j * _k + _codes[j * count + i]) * sub, sub);
                        error += VectorKernels.SquaredL2(_y.AsSpan(i * d + j * sub, sub), centroid);
                        centroid.CopyTo(_y.AsSpan(i * d + j * sub, sub));
                    }
                    _pointErrors[i] = error;
                }
            });
            double total = 0;
            foreach (double e in _pointErrors) total += e;
            return total / count;
        }
    }
}
