using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmbeddedVectors.Kernels;

/// <summary>
/// Distance kernels between two vectors. Each has a <see cref="Vector512"/>, a <see cref="Vector256"/>, a
/// <see cref="Vector128"/> (ARM64, and x86 without AVX2) and a scalar body; the public entry point picks the widest
/// one the CPU accelerates, once, at JIT time.
/// </summary>
public static class VectorKernels
{
    /// <summary>Squared Euclidean distance ‖x − y‖².</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SquaredL2(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (x.Length != y.Length) ThrowLengthMismatch();
        if (Vector512.IsHardwareAccelerated && x.Length >= Vector512<float>.Count) return SquaredL2Vector512(x, y);
        if (Vector256.IsHardwareAccelerated && x.Length >= Vector256<float>.Count) return SquaredL2Vector256(x, y);
        if (!Vector256.IsHardwareAccelerated && Vector128.IsHardwareAccelerated && x.Length >= Vector128<float>.Count) return SquaredL2Vector128(x, y);
        return SquaredL2Scalar(x, y);
    }

    /// <summary>Inner product ⟨x, y⟩.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (x.Length != y.Length) ThrowLengthMismatch();
        if (Vector512.IsHardwareAccelerated && x.Length >= Vector512<float>.Count) return DotVector512(x, y);
        if (Vector256.IsHardwareAccelerated && x.Length >= Vector256<float>.Count) return DotVector256(x, y);
        if (!Vector256.IsHardwareAccelerated && Vector128.IsHardwareAccelerated && x.Length >= Vector128<float>.Count) return DotVector128(x, y);
        return DotScalar(x, y);
    }

    /// <summary>Squared norm ‖x‖².</summary>
    public static float SquaredNorm(ReadOnlySpan<float> x) => Dot(x, x);

    /// <summary>
    /// Scales <paramref name="x"/> to unit length in place. A zero vector has no direction, so it is an error.
    /// </summary>
    /// <exception cref="ArgumentException">The vector is all zeros.</exception>
    public static void Normalize(Span<float> x)
    {
        float norm = MathF.Sqrt(SquaredNorm(x));
        if (!(norm > 0f) || float.IsInfinity(norm))
            throw new ArgumentException("A zero (or overflowing) vector cannot be normalised for the cosine metric.", nameof(x));
        float inverse = 1f / norm;
        for (int i = 0; i < x.Length; i++) x[i] *= inverse;
    }

    /// <summary>The distance the <paramref name="metric"/> ranks by internally (smaller is nearer): L2² for L2 and cosine, −⟨x, y⟩ for inner product.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float RankingDistance(Metric metric, ReadOnlySpan<float> x, ReadOnlySpan<float> y)
        => metric == Metric.InnerProduct ? -Dot(x, y) : SquaredL2(x, y);

    /// <summary>
    /// One query against <paramref name="rows"/> (row-major, <c>query.Length</c> wide): writes each row's ranking distance.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void RankingDistances(Metric metric, ReadOnlySpan<float> query, ReadOnlySpan<float> rows, Span<float> distances)
    {
        int dim = query.Length;
        int count = distances.Length;
        if ((long)count * dim > rows.Length) throw new ArgumentException("Fewer rows than distances requested.", nameof(rows));
        if (metric == Metric.InnerProduct)
        {
            for (int i = 0; i < count; i++) distances[i] = -Dot(query, rows.Slice(i * dim, dim));
        }
        else
        {
            for (int i = 0; i < count; i++) distances[i] = SquaredL2(query, rows.Slice(i * dim, dim));
        }
    }

    /// <summary><c>destination[i] = a[i] + scale · b[i]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void MultiplyAdd(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float scale, Span<float> destination)
        => MultiplyAdd(a, b, scale, destination, KernelWidths.Preferred);

    /// <summary><see cref="MultiplyAdd(ReadOnlySpan{float}, ReadOnlySpan{float}, float, Span{float})"/> with the body of the given <paramref name="width"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MultiplyAdd(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float scale, Span<float> destination, KernelWidth width)
    {
        int n = destination.Length;
        if (a.Length < n || b.Length < n) throw new ArgumentException("Inputs are shorter than the destination.");
        ref float ar = ref MemoryMarshal.GetReference(a);
        ref float br = ref MemoryMarshal.GetReference(b);
        ref float dr = ref MemoryMarshal.GetReference(destination);
        int i = 0;
        if (width == KernelWidth.Vector512)
        {
            var s = Vector512.Create(scale);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
                Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref br, (nuint)i), s, Vector512.LoadUnsafe(ref ar, (nuint)i)).StoreUnsafe(ref dr, (nuint)i);
        }
        else if (width == KernelWidth.Vector256)
        {
            var s = Vector256.Create(scale);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref br, (nuint)i), s, Vector256.LoadUnsafe(ref ar, (nuint)i)).StoreUnsafe(ref dr, (nuint)i);
        }
        else if (width == KernelWidth.Vector128)
        {
            var s = Vector128.Create(scale);
            for (; i <= n - Vector128<float>.Count; i += Vector128<float>.Count)
                Vector128Ops.MultiplyAdd(Vector128.LoadUnsafe(ref br, (nuint)i), s, Vector128.LoadUnsafe(ref ar, (nuint)i)).StoreUnsafe(ref dr, (nuint)i);
        }
        for (; i < n; i++) destination[i] = a[i] + scale * b[i];
    }

    internal static float SquaredL2Scalar(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        float sum = 0f;
        for (int i = 0; i < x.Length; i++)
        {
            float d = x[i] - y[i];
            sum += d * d;
        }
        return sum;
    }

    internal static float DotScalar(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        float sum = 0f;
        for (int i = 0; i < x.Length; i++) sum += x[i] * y[i];
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float SquaredL2Vector256(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        int n = x.Length;
        int width = Vector256<float>.Count;
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        int i = 0;
        // Two accumulators hide the FMA latency; the tail is handled by one overlapping load, masked to the unseen lanes.
        for (; i <= n - 2 * width; i += 2 * width)
        {
            var d0 = Vector256.LoadUnsafe(ref xr, (nuint)i) - Vector256.LoadUnsafe(ref yr, (nuint)i);
            var d1 = Vector256.LoadUnsafe(ref xr, (nuint)(i + width)) - Vector256.LoadUnsafe(ref yr, (nuint)(i + width));
            acc0 = Vector256.FusedMultiplyAdd(d0, d0, acc0);
            acc1 = Vector256.FusedMultiplyAdd(d1, d1, acc1);
        }
        for (; i <= n - width; i += width)
        {
            var d = Vector256.LoadUnsafe(ref xr, (nuint)i) - Vector256.LoadUnsafe(ref yr, (nuint)i);
            acc0 = Vector256.FusedMultiplyAdd(d, d, acc0);
        }
        if (i < n)
        {
            int start = n - width;
            var d = Vector256.LoadUnsafe(ref xr, (nuint)start) - Vector256.LoadUnsafe(ref yr, (nuint)start);
            var fresh = Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create(i - start)).AsSingle();
            d &= fresh;
            acc1 = Vector256.FusedMultiplyAdd(d, d, acc1);
        }
        return Vector256.Sum(acc0 + acc1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotVector256(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        int n = x.Length;
        int width = Vector256<float>.Count;
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        int i = 0;
        for (; i <= n - 2 * width; i += 2 * width)
        {
            acc0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref xr, (nuint)i), Vector256.LoadUnsafe(ref yr, (nuint)i), acc0);
            acc1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref xr, (nuint)(i + width)), Vector256.LoadUnsafe(ref yr, (nuint)(i + width)), acc1);
        }
        for (; i <= n - width; i += width)
            acc0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref xr, (nuint)i), Vector256.LoadUnsafe(ref yr, (nuint)i), acc0);
        if (i < n)
        {
            int start = n - width;
            var fresh = Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create(i - start)).AsSingle();
            var xv = Vector256.LoadUnsafe(ref xr, (nuint)start) & fresh;
            acc1 = Vector256.FusedMultiplyAdd(xv, Vector256.LoadUnsafe(ref yr, (nuint)start), acc1);
        }
        return Vector256.Sum(acc0 + acc1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float SquaredL2Vector512(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        int n = x.Length;
        int width = Vector512<float>.Count;
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        int i = 0;
        for (; i <= n - 2 * width; i += 2 * width)
        {
            var d0 = Vector512.LoadUnsafe(ref xr, (nuint)i) - Vector512.LoadUnsafe(ref yr, (nuint)i);
            var d1 = Vector512.LoadUnsafe(ref xr, (nuint)(i + width)) - Vector512.LoadUnsafe(ref yr, (nuint)(i + width));
            acc0 = Vector512.FusedMultiplyAdd(d0, d0, acc0);
            acc1 = Vector512.FusedMultiplyAdd(d1, d1, acc1);
        }
        for (; i <= n - width; i += width)
        {
            var d = Vector512.LoadUnsafe(ref xr, (nuint)i) - Vector512.LoadUnsafe(ref yr, (nuint)i);
            acc0 = Vector512.FusedMultiplyAdd(d, d, acc0);
        }
        if (i < n)
        {
            int start = n - width;
            var d = Vector512.LoadUnsafe(ref xr, (nuint)start) - Vector512.LoadUnsafe(ref yr, (nuint)start);
            var fresh = Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create(i - start)).AsSingle();
            d &= fresh;
            acc1 = Vector512.FusedMultiplyAdd(d, d, acc1);
        }
        return Vector512.Sum(acc0 + acc1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotVector512(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        int n = x.Length;
        int width = Vector512<float>.Count;
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        int i = 0;
        for (; i <= n - 2 * width; i += 2 * width)
        {
            acc0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref xr, (nuint)i), Vector512.LoadUnsafe(ref yr, (nuint)i), acc0);
            acc1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref xr, (nuint)(i + width)), Vector512.LoadUnsafe(ref yr, (nuint)(i + width)), acc1);
        }
        for (; i <= n - width; i += width)
            acc0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref xr, (nuint)i), Vector512.LoadUnsafe(ref yr, (nuint)i), acc0);
        if (i < n)
        {
            int start = n - width;
            var fresh = Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create(i - start)).AsSingle();
            var xv = Vector512.LoadUnsafe(ref xr, (nuint)start) & fresh;
            acc1 = Vector512.FusedMultiplyAdd(xv, Vector512.LoadUnsafe(ref yr, (nuint)start), acc1);
        }
        return Vector512.Sum(acc0 + acc1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float SquaredL2Vector128(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        int n = x.Length;
        int width = Vector128<float>.Count;
        var acc0 = Vector128<float>.Zero;
        var acc1 = Vector128<float>.Zero;
        var acc2 = Vector128<float>.Zero;
        var acc3 = Vector128<float>.Zero;
        int i = 0;
        // Four accumulators: a 128-bit FMA does half the work of a 256-bit one, and ARM64 cores issue several a cycle.
        for (; i <= n - 4 * width; i += 4 * width)
        {
            var d0 = Vector128.LoadUnsafe(ref xr, (nuint)i) - Vector128.LoadUnsafe(ref yr, (nuint)i);
            var d1 = Vector128.LoadUnsafe(ref xr, (nuint)(i + width)) - Vector128.LoadUnsafe(ref yr, (nuint)(i + width));
            var d2 = Vector128.LoadUnsafe(ref xr, (nuint)(i + 2 * width)) - Vector128.LoadUnsafe(ref yr, (nuint)(i + 2 * width));
            var d3 = Vector128.LoadUnsafe(ref xr, (nuint)(i + 3 * width)) - Vector128.LoadUnsafe(ref yr, (nuint)(i + 3 * width));
            acc0 = Vector128Ops.MultiplyAdd(d0, d0, acc0);
            acc1 = Vector128Ops.MultiplyAdd(d1, d1, acc1);
            acc2 = Vector128Ops.MultiplyAdd(d2, d2, acc2);
            acc3 = Vector128Ops.MultiplyAdd(d3, d3, acc3);
        }
        for (; i <= n - width; i += width)
        {
            var d = Vector128.LoadUnsafe(ref xr, (nuint)i) - Vector128.LoadUnsafe(ref yr, (nuint)i);
            acc0 = Vector128Ops.MultiplyAdd(d, d, acc0);
        }
        if (i < n)
        {
            int start = n - width;
            var d = Vector128.LoadUnsafe(ref xr, (nuint)start) - Vector128.LoadUnsafe(ref yr, (nuint)start);
            var fresh = Vector128.GreaterThanOrEqual(Vector128<int>.Indices, Vector128.Create(i - start)).AsSingle();
            d &= fresh;
            acc1 = Vector128Ops.MultiplyAdd(d, d, acc1);
        }
        return Vector128.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotVector128(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        int n = x.Length;
        int width = Vector128<float>.Count;
        var acc0 = Vector128<float>.Zero;
        var acc1 = Vector128<float>.Zero;
        var acc2 = Vector128<float>.Zero;
        var acc3 = Vector128<float>.Zero;
        int i = 0;
        for (; i <= n - 4 * width; i += 4 * width)
        {
            acc0 = Vector128Ops.MultiplyAdd(Vector128.LoadUnsafe(ref xr, (nuint)i), Vector128.LoadUnsafe(ref yr, (nuint)i), acc0);
            acc1 = Vector128Ops.MultiplyAdd(Vector128.LoadUnsafe(ref xr, (nuint)(i + width)), Vector128.LoadUnsafe(ref yr, (nuint)(i + width)), acc1);
            acc2 = Vector128Ops.MultiplyAdd(Vector128.LoadUnsafe(ref xr, (nuint)(i + 2 * width)), Vector128.LoadUnsafe(ref yr, (nuint)(i + 2 * width)), acc2);
            acc3 = Vector128Ops.MultiplyAdd(Vector128.LoadUnsafe(ref xr, (nuint)(i + 3 * width)), Vector128.LoadUnsafe(ref yr, (nuint)(i + 3 * width)), acc3);
        }
        for (; i <= n - width; i += width)
            acc0 = Vector128Ops.MultiplyAdd(Vector128.LoadUnsafe(ref xr, (nuint)i), Vector128.LoadUnsafe(ref yr, (nuint)i), acc0);
        if (i < n)
        {
            int start = n - width;
            var fresh = Vector128.GreaterThanOrEqual(Vector128<int>.Indices, Vector128.Create(i - start)).AsSingle();
            var xv = Vector128.LoadUnsafe(ref xr, (nuint)start) & fresh;
            acc1 = Vector128Ops.MultiplyAdd(xv, Vector128.LoadUnsafe(ref yr, (nuint)start), acc1);
        }
        return Vector128.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowLengthMismatch() =>
        throw new ArgumentException("The two vectors differ in length.");
}
