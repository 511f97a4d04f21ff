using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmbeddedVectors.Kernels;

/// <summary>
/// A set of centroids laid out for many-to-many distance computation: blocks of 64 centroids, each block stored
/// dimension-major, so the inner loop is a small matrix product (4 points × 64 centroids in 16 registers).
/// Distances are computed as <c>bias[c] + scale · ⟨x, c⟩</c>: for L2 the bias is ‖c‖² and the scale −2
/// (‖x‖² is the same for every centroid, so it only matters when the caller wants true distances), for inner
/// product the bias is 0 and the scale −1. Padding centroids have an infinite bias so they never win.
/// The kernels have a <see cref="Vector512"/> body and a <see cref="Vector128"/> body (ARM64, and x86 without
/// AVX-512, where the 512-bit body would run as slow software); each centroid's score is the same chain of fused
/// multiply-adds over the dimensions in both, so both pick the same centroids.
/// </summary>
internal sealed class CentroidTable
{
    internal const int BlockWidth = 64;
    private const int PointGroup = 4;

    private readonly float[] _blocked;
    private readonly float[] _bias;
    private readonly float _scale;

    public CentroidTable(ReadOnlySpan<float> centroids, int count, int dimension, Metric metric)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "At least one centroid is needed.");
        if (dimension <= 0) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "The dimension must be positive.");
        if (centroids.Length < (long)count * dimension) throw new ArgumentException("Too few values for the centroids.", nameof(centroids));
        Count = count;
        Dimension = dimension;
        Metric = metric;
        BlockCount = (count + BlockWidth - 1) / BlockWidth;
        _blocked = new float[(long)BlockCount * BlockWidth * dimension];
        _bias = new float[BlockCount * BlockWidth];
        _scale = metric == Metric.InnerProduct ? -1f : -2f;
        for (int c = 0; c < BlockCount * BlockWidth; c++)
        {
            if (c >= count)
            {
                _bias[c] = float.PositiveInfinity;
                continue;
            }
            var centroid = centroids.Slice(c * dimension, dimension);
            int block = c / BlockWidth, lane = c % BlockWidth;
            for (int j = 0; j < dimension; j++)
                _blocked[((long)block * dimension + j) * BlockWidth + lane] = centroid[j];
            _bias[c] = metric == Metric.InnerProduct ? 0f : VectorKernels.SquaredNorm(centroid);
        }
    }

    public int Count { get; }
    public int Dimension { get; }
    public Metric Metric { get; }
    private int BlockCount { get; }

    /// <summary>
    /// For each of <paramref name="pointCount"/> row-major points, the nearest centroid and its ranking distance
    /// (L2² for L2/cosine, −⟨x, c⟩ for inner product). Ties go to the smaller centroid index.
    /// </summary>
    public void FindNearest(ReadOnlySpan<float> points, int pointCount, Span<int> nearest, Span<float> distances)
        => FindNearest(points, pointCount, nearest, distances, PreferredWidth);

    /// <summary>The width of the bodies the public methods run: 512-bit where accelerated, else 128-bit.</summary>
    internal static KernelWidth PreferredWidth
        => Vector512.IsHardwareAccelerated ? KernelWidth.Vector512 : KernelWidth.Vector128;

    /// <summary><see cref="FindNearest(ReadOnlySpan{float}, int, Span{int}, Span{float})"/> with the bodies of <paramref name="width"/> (512 or 128).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void FindNearest(ReadOnlySpan<float> points, int pointCount, Span<int> nearest, Span<float> distances, KernelWidth width)
    {
        bool wide = IsWide(width);
        int dim = Dimension;
        if (points.Length < (long)pointCount * dim) throw new ArgumentException("Too few values for the points.", nameof(points));
        if (nearest.Length < pointCount || distances.Length < pointCount) throw new ArgumentException("Output spans are too short.");
        int p = 0;
        for (; p + PointGroup <= pointCount; p += PointGroup)
        {
            var group = points.Slice(p * dim, PointGroup * dim);
            if (wide) FindNearest4(group, nearest.Slice(p, PointGroup), distances.Slice(p, PointGroup));
            else FindNearest4Vector128(group, nearest.Slice(p, PointGroup), distances.Slice(p, PointGroup));
        }
        Span<float> scores = stackalloc float[BlockWidth];
        for (; p < pointCount; p++)
        {
            var point = points.Slice(p * dim, dim);
            float best = float.PositiveInfinity;
            int bestIndex = 0;
            for (int b = 0; b < BlockCount; b++)
            {
                ScoreBlock1(point, b, scores, 0f, wide);
                for (int i = 0; i < BlockWidth; i++)
                {
                    if (scores[i] < best)
                    {
                        best = scores[i];
                        bestIndex = b * BlockWidth + i;
                    }
                }
            }
            nearest[p] = bestIndex;
            distances[p] = Finish(best, point);
        }
    }

    /// <summary>
    /// Four points against every block, keeping a running minimum and its index per lane in registers: no scores
    /// are written to memory, which matters when the dimension is small (PQ slices of 8 values).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void FindNearest4(ReadOnlySpan<float> points, Span<int> nearest, Span<float> distances)
    {
        int dim = Dimension;
        ref float x0 = ref MemoryMarshal.GetReference(points);
        ref float x1 = ref Unsafe.Add(ref x0, dim);
        ref float x2 = ref Unsafe.Add(ref x0, 2 * dim);
        ref float x3 = ref Unsafe.Add(ref x0, 3 * dim);
        var infinity = Vector512.Create(float.PositiveInfinity);
        Vector512<float> best0 = infinity, best1 = infinity, best2 = infinity, best3 = infinity;
        Vector512<int> index0 = default, index1 = default, index2 = default, index3 = default;
        var scale = Vector512.Create(_scale);
        ref float biasBase = ref MemoryMarshal.GetArrayDataReference(_bias);
        for (int block = 0; block < BlockCount; block++)
        {
            ref float c = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_blocked), (nint)block * dim * BlockWidth);
            Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
            Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
            Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
            Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
            for (int j = 0; j < dim; j++)
            {
                ref float row = ref Unsafe.Add(ref c, j * BlockWidth);
                var c0 = Vector512.LoadUnsafe(ref row);
                var c1 = Vector512.LoadUnsafe(ref row, 16);
                var c2 = Vector512.LoadUnsafe(ref row, 32);
                var c3 = Vector512.LoadUnsafe(ref row, 48);
                var v = Vector512.Create(Unsafe.Add(ref x0, j));
                a00 = Vector512.FusedMultiplyAdd(v, c0, a00); a01 = Vector512.FusedMultiplyAdd(v, c1, a01);
                a02 = Vector512.FusedMultiplyAdd(v, c2, a02); a03 = Vector512.FusedMultiplyAdd(v, c3, a03);
                v = Vector512.Create(Unsafe.Add(ref x1, j));
                a10 = Vector512.FusedMultiplyAdd(v, c0, a10); a11 = Vector512.FusedMultiplyAdd(v, c1, a11);
                a12 = Vector512.FusedMultiplyAdd(v, c2, a12); a13 = Vector512.FusedMultiplyAdd(v, c3, a13);
                v = Vector512.Create(Unsafe.Add(ref x2, j));
                a20 = Vector512.FusedMultiplyAdd(v, c0, a20); a21 = Vector512.FusedMultiplyAdd(v, c1, a21);
                a22 = Vector512.FusedMultiplyAdd(v, c2, a22); a23 = Vector512.FusedMultiplyAdd(v, c3, a23);
                v = Vector512.Create(Unsafe.Add(ref x3, j));
                a30 = Vector512.FusedMultiplyAdd(v, c0, a30); a31 = Vector512.FusedMultiplyAdd(v, c1, a31);
                a32 = Vector512.FusedMultiplyAdd(v, c2, a32); a33 = Vector512.FusedMultiplyAdd(v, c3, a33);
            }
            ref float bias = ref Unsafe.Add(ref biasBase, block * BlockWidth);
            var b0 = Vector512.LoadUnsafe(ref bias); var b1 = Vector512.LoadUnsafe(ref bias, 16);
            var b2 = Vector512.LoadUnsafe(ref bias, 32); var b3 = Vector512.LoadUnsafe(ref bias, 48);
            var lane0 = Vector512<int>.Indices + Vector512.Create(block * BlockWidth);
            var lane1 = lane0 + Vector512.Create(16);
            var lane2 = lane0 + Vector512.Create(32);
            var lane3 = lane0 + Vector512.Create(48);
            KeepBest(ref best0, ref index0, a00, a01, a02, a03, b0, b1, b2, b3, scale, lane0, lane1, lane2, lane3);
            KeepBest(ref best1, ref index1, a10, a11, a12, a13, b0, b1, b2, b3, scale, lane0, lane1, lane2, lane3);
            KeepBest(ref best2, ref index2, a20, a21, a22, a23, b0, b1, b2, b3, scale, lane0, lane1, lane2, lane3);
            KeepBest(ref best3, ref index3, a30, a31, a32, a33, b0, b1, b2, b3, scale, lane0, lane1, lane2, lane3);
        }
        (nearest[0], distances[0]) = Reduce(best0, index0, MemoryMarshal.CreateReadOnlySpan(ref x0, dim));
        (nearest[1], distances[1]) = Reduce(best1, index1, MemoryMarshal.CreateReadOnlySpan(ref x1, dim));
        (nearest[2], distances[2]) = Reduce(best2, index2, MemoryMarshal.CreateReadOnlySpan(ref x2, dim));
        (nearest[3], distances[3]) = Reduce(best3, index3, MemoryMarshal.CreateReadOnlySpan(ref x3, dim));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KeepBest(ref Vector512<float> best, ref Vector512<int> index,
        Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3,
        Vector512<float> b0, Vector512<float> b1, Vector512<float> b2, Vector512<float> b3, Vector512<float> scale,
        Vector512<int> lane0, Vector512<int> lane1, Vector512<int> lane2, Vector512<int> lane3)
    {
        // Strictly-less keeps the earlier (smaller) index on ties within a lane.
        var s = Vector512.FusedMultiplyAdd(a0, scale, b0);
        var better = Vector512.LessThan(s, best);
        best = Vector512.ConditionalSelect(better, s, best);
        index = Vector512.ConditionalSelect(better.AsInt32(), lane0, index);
        s = Vector512.FusedMultiplyAdd(a1, scale, b1);
        better = Vector512.LessThan(s, best);
        best = Vector512.ConditionalSelect(better, s, best);
        index = Vector512.ConditionalSelect(better.AsInt32(), lane1, index);
        s = Vector512.FusedMultiplyAdd(a2, scale, b2);
        better = Vector512.LessThan(s, best);
        best = Vector512.ConditionalSelect(better, s, best);
        index = Vector512.ConditionalSelect(better.AsInt32(), lane2, index);
        s = Vector512.FusedMultiplyAdd(a3, scale, b3);
        better = Vector512.LessThan(s, best);
        best = Vector512.ConditionalSelect(better, s, best);
        index = Vector512.ConditionalSelect(better.AsInt32(), lane3, index);
    }

    private (int Index, float Distance) Reduce(Vector512<float> best, Vector512<int> index, ReadOnlySpan<float> point)
    {
        float value = float.PositiveInfinity;
        int at = int.MaxValue;
        for (int lane = 0; lane < Vector512<float>.Count; lane++)
        {
            float v = best.GetElement(lane);
            int i = index.GetElement(lane);
            if (v < value || (v == value && i < at))
            {
                value = v;
                at = i;
            }
        }
        return (at == int.MaxValue ? 0 : at, Finish(value, point));
    }

    /// <summary>The ranking distance from one point to every centroid (<paramref name="distances"/> has at least <see cref="Count"/> slots).</summary>
    public void ComputeAll(ReadOnlySpan<float> point, Span<float> distances) => ComputeAll(point, distances, PreferredWidth);

    /// <summary><see cref="ComputeAll(ReadOnlySpan{float}, Span{float})"/> with the bodies of <paramref name="width"/> (512 or 128).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void ComputeAll(ReadOnlySpan<float> point, Span<float> distances, KernelWidth width)
    {
        bool wide = IsWide(width);
        if (point.Length != Dimension) throw new ArgumentException("The point's length differs from the centroids' dimension.", nameof(point));
        if (distances.Length < Count) throw new ArgumentException("The output span is too short.", nameof(distances));
        float pointTerm = Metric == Metric.InnerProduct ? 0f : VectorKernels.SquaredNorm(point);
        int fullBlocks = Count / BlockWidth;
        for (int b = 0; b < fullBlocks; b++) ScoreBlock1(point, b, distances.Slice(b * BlockWidth, BlockWidth), pointTerm, wide);
        if (fullBlocks < BlockCount)
        {
            // The last block is padded: score it aside and copy the real centroids.
            Span<float> scores = stackalloc float[BlockWidth];
            ScoreBlock1(point, fullBlocks, scores, pointTerm, wide);
            scores[..(Count - fullBlocks * BlockWidth)].CopyTo(distances[(fullBlocks * BlockWidth)..]);
        }
    }

    private float Finish(float score, ReadOnlySpan<float> point)
        => Metric == Metric.InnerProduct ? score : MathF.Max(0f, score + VectorKernels.SquaredNorm(point));

    /// <summary>True for the 512-bit bodies; the 128-bit ones serve every other width.</summary>
    private static bool IsWide(KernelWidth width) => width == KernelWidth.Vector512;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ScoreBlock1(ReadOnlySpan<float> point, int block, Span<float> scores, float pointTerm, bool wide)
    {
        if (wide) ScoreBlock1(point, block, scores, pointTerm);
        else ScoreBlock1Vector128(point, block, scores, pointTerm);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ScoreBlock1(ReadOnlySpan<float> point, int block, Span<float> scores, float pointTerm)
    {
        int dim = Dimension;
        ref float c = ref MemoryMarshal.GetArrayDataReference(_blocked);
        c = ref Unsafe.Add(ref c, (nint)block * dim * BlockWidth);
        ref float x = ref MemoryMarshal.GetReference(point);
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int j = 0; j < dim; j++)
        {
            ref float row = ref Unsafe.Add(ref c, j * BlockWidth);
            var v = Vector512.Create(Unsafe.Add(ref x, j));
            a0 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref row), a0);
            a1 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref row, 16), a1);
            a2 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref row, 32), a2);
            a3 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref row, 48), a3);
        }
        ref float bias = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_bias), block * BlockWidth);
        var term = Vector512.Create(pointTerm);
        Store4(ref MemoryMarshal.GetReference(scores), 0, a0, a1, a2, a3,
            Vector512.LoadUnsafe(ref bias) + term, Vector512.LoadUnsafe(ref bias, 16) + term,
            Vector512.LoadUnsafe(ref bias, 32) + term, Vector512.LoadUnsafe(ref bias, 48) + term, Vector512.Create(_scale));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4(ref float output, nuint offset,
        Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3,
        Vector512<float> b0, Vector512<float> b1, Vector512<float> b2, Vector512<float> b3, Vector512<float> scale)
    {
        Vector512.FusedMultiplyAdd(a0, scale, b0).StoreUnsafe(ref output, offset);
        Vector512.FusedMultiplyAdd(a1, scale, b1).StoreUnsafe(ref output, offset + 16);
        Vector512.FusedMultiplyAdd(a2, scale, b2).StoreUnsafe(ref output, offset + 32);
        Vector512.FusedMultiplyAdd(a3, scale, b3).StoreUnsafe(ref output, offset + 48);
    }

    /// <summary>
    /// The 128-bit <see cref="FindNearest4"/>: each block is taken a quarter (16 centroids) at a time, so the tile is
    /// 4 points × 4 vectors, 16 accumulators, which with the loads fits ARM64's 32 registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void FindNearest4Vector128(ReadOnlySpan<float> points, Span<int> nearest, Span<float> distances)
    {
        const int quarter = BlockWidth / 4;
        int dim = Dimension;
        ref float x0 = ref MemoryMarshal.GetReference(points);
        ref float x1 = ref Unsafe.Add(ref x0, dim);
        ref float x2 = ref Unsafe.Add(ref x0, 2 * dim);
        ref float x3 = ref Unsafe.Add(ref x0, 3 * dim);
        var infinity = Vector128.Create(float.PositiveInfinity);
        Vector128<float> best0 = infinity, best1 = infinity, best2 = infinity, best3 = infinity;
        Vector128<int> index0 = default, index1 = default, index2 = default, index3 = default;
        var scale = Vector128.Create(_scale);
        ref float biasBase = ref MemoryMarshal.GetArrayDataReference(_bias);
        for (int block = 0; block < BlockCount; block++)
        {
            ref float blockBase = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_blocked), (nint)block * dim * BlockWidth);
            for (int q = 0; q < BlockWidth; q += quarter)
            {
                ref float c = ref Unsafe.Add(ref blockBase, q);
                Vector128<float> a00 = default, a01 = default, a02 = default, a03 = default;
                Vector128<float> a10 = default, a11 = default, a12 = default, a13 = default;
                Vector128<float> a20 = default, a21 = default, a22 = default, a23 = default;
                Vector128<float> a30 = default, a31 = default, a32 = default, a33 = default;
                for (int j = 0; j < dim; j++)
                {
                    ref float row = ref Unsafe.Add(ref c, j * BlockWidth);
                    var c0 = Vector128.LoadUnsafe(ref row);
                    var c1 = Vector128.LoadUnsafe(ref row, 4);
                    var c2 = Vector128.LoadUnsafe(ref row, 8);
                    var c3 = Vector128.LoadUnsafe(ref row, 12);
                    var v = Vector128.Create(Unsafe.Add(ref x0, j));
                    a00 = Vector128Ops.MultiplyAdd(v, c0, a00); a01 = Vector128Ops.MultiplyAdd(v, c1, a01);
                    a02 = Vector128Ops.MultiplyAdd(v, c2, a02); a03 = Vector128Ops.MultiplyAdd(v, c3, a03);
                    v = Vector128.Create(Unsafe.Add(ref x1, j));
                    a10 = Vector128Ops.MultiplyAdd(v, c0, a10); a11 = Vector128Ops.MultiplyAdd(v, c1, a11);
                    a12 = Vector128Ops.MultiplyAdd(v, c2, a12); a13 = Vector128Ops.MultiplyAdd(v, c3, a13);
                    v = Vector128.Create(Unsafe.Add(ref x2, j));
                    a20 = Vector128Ops.MultiplyAdd(v, c0, a20); a21 = Vector128Ops.MultiplyAdd(v, c1, a21);
                    a22 = Vector128Ops.MultiplyAdd(v, c2, a22); a23 = Vector128Ops.MultiplyAdd(v, c3, a23);
                    v = Vector128.Create(Unsafe.Add(ref x3, j));
                    a30 = Vector128Ops.MultiplyAdd(v, c0, a30); a31 = Vector128Ops.MultiplyAdd(v, c1, a31);
                    a32 = Vector128Ops.MultiplyAdd(v, c2, a32); a33 = Vector128Ops.MultiplyAdd(v, c3, a33);
                }
                ref float bias = ref Unsafe.Add(ref biasBase, block * BlockWidth + q);
                var b0 = Vector128.LoadUnsafe(ref bias); var b1 = Vector128.LoadUnsafe(ref bias, 4);
                var b2 = Vector128.LoadUnsafe(ref bias, 8); var b3 = Vector128.LoadUnsafe(ref bias, 12);
                var lane0 = Vector128<int>.Indices + Vector128.Create(block * BlockWidth + q);
                var lane1 = lane0 + Vector128.Create(4);
                var lane2 = lane0 + Vector128.Create(8);
                var lane3 = lane0 + Vector128.Create(12);
                KeepBest(ref best0, ref index0, a00, a01, a02, a03, b0, b1, b2, b3, scale, lane0, lane1, lane2, lane3);
                KeepBest(ref best1, ref index1, a10, a11, a12, a13, b0, b1, b2, b3, scale, lane0, lane1, lane2, lane3);
                KeepBest(ref best2, ref index2, a20, a21, a22, a23, b0, b1, b2, b3, scale, lane0, lane1, lane2, lane3);
                KeepBest(ref best3, ref index3, a30, a31, a32, a33, b0, b1, b2, b3, scale, lane0, lane1, lane2, lane3);
            }
        }
        (nearest[0], distances[0]) = Reduce(best0, index0, MemoryMarshal.CreateReadOnlySpan(ref x0, dim));
        (nearest[1], distances[1]) = Reduce(best1, index1, MemoryMarshal.CreateReadOnlySpan(ref x1, dim));
        (nearest[2], distances[2]) = Reduce(best2, index2, MemoryMarshal.CreateReadOnlySpan(ref x2, dim));
        (nearest[3], distances[3]) = Reduce(best3, index3, MemoryMarshal.CreateReadOnlySpan(ref x3, dim));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KeepBest(ref Vector128<float> best, ref Vector128<int> index,
        Vector128<float> a0, Vector128<float> a1, Vector128<float> a2, Vector128<float> a3,
        Vector128<float> b0, Vector128<float> b1, Vector128<float> b2, Vector128<float> b3, Vector128<float> scale,
        Vector128<int> lane0, Vector128<int> lane1, Vector128<int> lane2, Vector128<int> lane3)
    {
        // Strictly-less keeps the earlier (smaller) index on ties within a lane.
        var s = Vector128Ops.MultiplyAdd(a0, scale, b0);
        var better = Vector128.LessThan(s, best);
        best = Vector128.ConditionalSelect(better, s, best);
        index = Vector128.ConditionalSelect(better.AsInt32(), lane0, index);
        s = Vector128Ops.MultiplyAdd(a1, scale, b1);
        better = Vector128.LessThan(s, best);
        best = Vector128.ConditionalSelect(better, s, best);
        index = Vector128.ConditionalSelect(better.AsInt32(), lane1, index);
        s = Vector128Ops.MultiplyAdd(a2, scale, b2);
        better = Vector128.LessThan(s, best);
        best = Vector128.ConditionalSelect(better, s, best);
        index = Vector128.ConditionalSelect(better.AsInt32(), lane2, index);
        s = Vector128Ops.MultiplyAdd(a3, scale, b3);
        better = Vector128.LessThan(s, best);
        best = Vector128.ConditionalSelect(better, s, best);
        index = Vector128.ConditionalSelect(better.AsInt32(), lane3, index);
    }

    private (int Index, float Distance) Reduce(Vector128<float> best, Vector128<int> index, ReadOnlySpan<float> point)
    {
        float value = float.PositiveInfinity;
        int at = int.MaxValue;
        for (int lane = 0; lane < Vector128<float>.Count; lane++)
        {
            float v = best.GetElement(lane);
            int i = index.GetElement(lane);
            if (v < value || (v == value && i < at))
            {
                value = v;
                at = i;
            }
        }
        return (at == int.MaxValue ? 0 : at, Finish(value, point));
    }

    /// <summary>The 128-bit <see cref="ScoreBlock1(ReadOnlySpan{float}, int, Span{float}, float)"/>: half a block (8 vectors) at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ScoreBlock1Vector128(ReadOnlySpan<float> point, int block, Span<float> scores, float pointTerm)
    {
        const int half = BlockWidth / 2;
        int dim = Dimension;
        ref float blockBase = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_blocked), (nint)block * dim * BlockWidth);
        ref float x = ref MemoryMarshal.GetReference(point);
        ref float biasBase = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_bias), block * BlockWidth);
        ref float output = ref MemoryMarshal.GetReference(scores);
        var term = Vector128.Create(pointTerm);
        var scale = Vector128.Create(_scale);
        for (int h = 0; h < BlockWidth; h += half)
        {
            ref float c = ref Unsafe.Add(ref blockBase, h);
            Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector128<float> a4 = default, a5 = default, a6 = default, a7 = default;
            for (int j = 0; j < dim; j++)
            {
                ref float row = ref Unsafe.Add(ref c, j * BlockWidth);
                var v = Vector128.Create(Unsafe.Add(ref x, j));
                a0 = Vector128Ops.MultiplyAdd(v, Vector128.LoadUnsafe(ref row), a0);
                a1 = Vector128Ops.MultiplyAdd(v, Vector128.LoadUnsafe(ref row, 4), a1);
                a2 = Vector128Ops.MultiplyAdd(v, Vector128.LoadUnsafe(ref row, 8), a2);
                a3 = Vector128Ops.MultiplyAdd(v, Vector128.LoadUnsafe(ref row, 12), a3);
                a4 = Vector128Ops.MultiplyAdd(v, Vector128.LoadUnsafe(ref row, 16), a4);
                a5 = Vector128Ops.MultiplyAdd(v, Vector128.LoadUnsafe(ref row, 20), a5);
                a6 = Vector128Ops.MultiplyAdd(v, Vector128.LoadUnsafe(ref row, 24), a6);
                a7 = Vector128Ops.MultiplyAdd(v, Vector128.LoadUnsafe(ref row, 28), a7);
            }
            ref float bias = ref Unsafe.Add(ref biasBase, h);
            ref float target = ref Unsafe.Add(ref output, h);
            Vector128Ops.MultiplyAdd(a0, scale, Vector128.LoadUnsafe(ref bias) + term).StoreUnsafe(ref target);
            Vector128Ops.MultiplyAdd(a1, scale, Vector128.LoadUnsafe(ref bias, 4) + term).StoreUnsafe(ref target, 4);
            Vector128Ops.MultiplyAdd(a2, scale, Vector128.LoadUnsafe(ref bias, 8) + term).StoreUnsafe(ref target, 8);
            Vector128Ops.MultiplyAdd(a3, scale, Vector128.LoadUnsafe(ref bias, 12) + term).StoreUnsafe(ref target, 12);
            Vector128Ops.MultiplyAdd(a4, scale, Vector128.LoadUnsafe(ref bias, 16) + term).StoreUnsafe(ref target, 16);
            Vector128Ops.MultiplyAdd(a5, scale, Vector128.LoadUnsafe(ref bias, 20) + term).StoreUnsafe(ref target, 20);
            Vector128Ops.MultiplyAdd(a6, scale, Vector128.LoadUnsafe(ref bias, 24) + term).StoreUnsafe(ref target, 24);
            Vector128Ops.MultiplyAdd(a7, scale, Vector128.LoadUnsafe(ref bias, 28) + term).StoreUnsafe(ref target, 28);
        }
    }
}
