using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmbeddedVectors.Kernels;

/// <summary>Which body of a <see cref="RowKernels"/> kernel runs: the widest the CPU accelerates, or one forced (tests).</summary>
internal enum RowKernelWidth
{
    /// <summary>The widest accelerated body the row is long enough for.</summary>
    Auto,
    /// <summary>The scalar reference.</summary>
    Scalar,
    /// <summary>The <see cref="Vector128"/> body.</summary>
    Vector128,
    /// <summary>The <see cref="Vector256"/> body.</summary>
    Vector256,
    /// <summary>The <see cref="Vector512"/> body.</summary>
    Vector512,
}

/// <summary>
/// Exact distances between a float32 query and an encoded re-rank row (IEEE half, or one byte a value with a
/// per-dimension offset and scale), decoding the row in registers rather than into a float32 copy. Each kernel
/// has a <see cref="Vector512"/>, <see cref="Vector256"/>, <see cref="Vector128"/> and a scalar body, all one
/// generic body per width over the row format and the metric; the entry points pick the widest one the CPU
/// accelerates, and tests force each one with <see cref="RowKernelWidth"/>.
/// </summary>
/// <remarks>
/// Half→float in SIMD widens the 16-bit lanes to 32 bits and rebiases the exponent: <c>(h &amp; 0x7fff) &lt;&lt; 13</c>
/// read as a float is the half's magnitude × 2⁻¹¹², so one multiplication by 2¹¹² gives it exactly (subnormal halves
/// included), and the sign bit is moved to bit 31. Exact for every finite half, which is all a row holds.
/// </remarks>
internal static class RowKernels
{
    /// <summary>
    /// The ranking distance (L2², or −⟨q, x⟩ for <see cref="Metric.InnerProduct"/>) between <paramref name="query"/>
    /// and a row of IEEE halves (2 bytes a value, little-endian).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HalfRankingDistance(Metric rankingMetric, ReadOnlySpan<float> query, ReadOnlySpan<byte> row, RowKernelWidth width = RowKernelWidth.Auto)
    {
        if (row.Length != 2 * query.Length) ThrowLengthMismatch();
        return rankingMetric == Metric.InnerProduct
            ? -Run<HalfRow, DotProduct>(query, row, default, default, width)
            : Run<HalfRow, SquaredDifference>(query, row, default, default, width);
    }

    /// <summary>
    /// The ranking distance between <paramref name="query"/> and a row of bytes, value j being
    /// <paramref name="offset"/>[j] + <paramref name="scale"/>[j] × byte j.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ByteRankingDistance(Metric rankingMetric, ReadOnlySpan<float> query, ReadOnlySpan<byte> row,
        ReadOnlySpan<float> scale, ReadOnlySpan<float> offset, RowKernelWidth width = RowKernelWidth.Auto)
    {
        if (row.Length != query.Length || scale.Length != query.Length || offset.Length != query.Length) ThrowLengthMismatch();
        return rankingMetric == Metric.InnerProduct
            ? -Run<ByteRow, DotProduct>(query, row, scale, offset, width)
            : Run<ByteRow, SquaredDifference>(query, row, scale, offset, width);
    }

    /// <summary>Decodes one half (its bits) exactly, as the SIMD bodies do.</summary>
    public static float HalfToSingle(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>Decodes one byte value: <c>offset + scale × code</c>, fused as the SIMD bodies do.</summary>
    public static float ByteToSingle(byte code, float scale, float offset) => MathF.FusedMultiplyAdd(code, scale, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Run<TRow, TMetric>(ReadOnlySpan<float> query, ReadOnlySpan<byte> row, ReadOnlySpan<float> scale, ReadOnlySpan<float> offset, RowKernelWidth width)
        where TRow : struct, IRowFormat where TMetric : struct, IRowMetric
    {
        int n = query.Length;
        if (width == RowKernelWidth.Auto)
        {
            width = Vector512.IsHardwareAccelerated && n >= 2 * Vector512<float>.Count ? RowKernelWidth.Vector512
                : Vector256.IsHardwareAccelerated && n >= 2 * Vector256<float>.Count ? RowKernelWidth.Vector256
                : Vector128.IsHardwareAccelerated && n >= 2 * Vector128<float>.Count ? RowKernelWidth.Vector128
                : RowKernelWidth.Scalar;
        }
        return width switch
        {
            RowKernelWidth.Vector512 => Sum512<TRow, TMetric>(query, row, scale, offset),
            RowKernelWidth.Vector256 => Sum256<TRow, TMetric>(query, row, scale, offset),
            RowKernelWidth.Vector128 => Sum128<TRow, TMetric>(query, row, scale, offset),
            _ => SumScalar<TRow, TMetric>(query, row, scale, offset, 0, 0f),
        };
    }

    // Each body takes 2 × width values a step (two accumulators hide the FMA latency): one load of 2 × width 16-bit
    // lanes (halves as they are, bytes widened), widened into two vectors of 32-bit lanes, decoded to floats. The
    // last values (fewer than 2 × width) go through the scalar body.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Sum512<TRow, TMetric>(ReadOnlySpan<float> query, ReadOnlySpan<byte> row, ReadOnlySpan<float> scale, ReadOnlySpan<float> offset)
        where TRow : struct, IRowFormat where TMetric : struct, IRowMetric
    {
        ref float q = ref MemoryMarshal.GetReference(query);
        ref byte r = ref MemoryMarshal.GetReference(row);
        ref float s = ref MemoryMarshal.GetReference(scale);
        ref float o = ref MemoryMarshal.GetReference(offset);
        const int width = 16;
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        int i = 0;
        for (; i <= query.Length - 2 * width; i += 2 * width)
        {
            var (lower, upper) = Vector512.Widen(TRow.Load512(ref r, i));
            var x0 = TRow.Decode512(lower, ref s, ref o, i);
            var x1 = TRow.Decode512(upper, ref s, ref o, i + width);
            acc0 = TMetric.Accumulate512(acc0, Vector512.LoadUnsafe(ref q, (nuint)i), x0);
            acc1 = TMetric.Accumulate512(acc1, Vector512.LoadUnsafe(ref q, (nuint)(i + width)), x1);
        }
        return SumScalar<TRow, TMetric>(query, row, scale, offset, i, Vector512.Sum(acc0 + acc1));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Sum256<TRow, TMetric>(ReadOnlySpan<float> query, ReadOnlySpan<byte> row, ReadOnlySpan<float> scale, ReadOnlySpan<float> offset)
        where TRow : struct, IRowFormat where TMetric : struct, IRowMetric
    {
        ref float q = ref MemoryMarshal.GetReference(query);
        ref byte r = ref MemoryMarshal.GetReference(row);
        ref float s = ref MemoryMarshal.GetReference(scale);
        ref float o = ref MemoryMarshal.GetReference(offset);
        const int width = 8;
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        int i = 0;
        for (; i <= query.Length - 2 * width; i += 2 * width)
        {
            var (lower, upper) = Vector256.Widen(TRow.Load256(ref r, i));
            var x0 = TRow.Decode256(lower, ref s, ref o, i);
            var x1 = TRow.Decode256(upper, ref s, ref o, i + width);
            acc0 = TMetric.Accumulate256(acc0, Vector256.LoadUnsafe(ref q, (nuint)i), x0);
            acc1 = TMetric.Accumulate256(acc1, Vector256.LoadUnsafe(ref q, (nuint)(i + width)), x1);
        }
        return SumScalar<TRow, TMetric>(query, row, scale, offset, i, Vector256.Sum(acc0 + acc1));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Sum128<TRow, TMetric>(ReadOnlySpan<float> query, ReadOnlySpan<byte> row, ReadOnlySpan<float> scale, ReadOnlySpan<float> offset)
        where TRow : struct, IRowFormat where TMetric : struct, IRowMetric
    {
        ref float q = ref MemoryMarshal.GetReference(query);
        ref byte r = ref MemoryMarshal.GetReference(row);
        ref float s = ref MemoryMarshal.GetReference(scale);
        ref float o = ref MemoryMarshal.GetReference(offset);
        const int width = 4;
        var acc0 = Vector128<float>.Zero;
        var acc1 = Vector128<float>.Zero;
        int i = 0;
        for (; i <= query.Length - 2 * width; i += 2 * width)
        {
            var (lower, upper) = Vector128.Widen(TRow.Load128(ref r, i));
            var x0 = TRow.Decode128(lower, ref s, ref o, i);
            var x1 = TRow.Decode128(upper, ref s, ref o, i + width);
            acc0 = TMetric.Accumulate128(acc0, Vector128.LoadUnsafe(ref q, (nuint)i), x0);
            acc1 = TMetric.Accumulate128(acc1, Vector128.LoadUnsafe(ref q, (nuint)(i + width)), x1);
        }
        return SumScalar<TRow, TMetric>(query, row, scale, offset, i, Vector128.Sum(acc0 + acc1));
    }

    /// <summary>The scalar body from value <paramref name="start"/> on, added to <paramref name="sum"/>: the reference, and every body's tail.</summary>
    private static float SumScalar<TRow, TMetric>(ReadOnlySpan<float> query, ReadOnlySpan<byte> row, ReadOnlySpan<float> scale, ReadOnlySpan<float> offset, int start, float sum)
        where TRow : struct, IRowFormat where TMetric : struct, IRowMetric
    {
        for (int i = start; i < query.Length; i++) sum = TMetric.Accumulate(sum, query[i], TRow.Decode(row, scale, offset, i));
        return sum;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowLengthMismatch() => throw new ArgumentException("The row does not match the query's dimension.");

    /// <summary>How a row's values are stored: loaded as 16-bit lanes (2 × width values), widened, decoded.</summary>
    private interface IRowFormat
    {
        static abstract Vector512<ushort> Load512(ref byte row, int index);
        static abstract Vector256<ushort> Load256(ref byte row, int index);
        static abstract Vector128<ushort> Load128(ref byte row, int index);
        static abstract Vector512<float> Decode512(Vector512<uint> lanes, ref float scale, ref float offset, int index);
        static abstract Vector256<float> Decode256(Vector256<uint> lanes, ref float scale, ref float offset, int index);
        static abstract Vector128<float> Decode128(Vector128<uint> lanes, ref float scale, ref float offset, int index);
        static abstract float Decode(ReadOnlySpan<byte> row, ReadOnlySpan<float> scale, ReadOnlySpan<float> offset, int index);
    }

    /// <summary>What is summed over the values.</summary>
    private interface IRowMetric
    {
        static abstract Vector512<float> Accumulate512(Vector512<float> sum, Vector512<float> query, Vector512<float> row);
        static abstract Vector256<float> Accumulate256(Vector256<float> sum, Vector256<float> query, Vector256<float> row);
        static abstract Vector128<float> Accumulate128(Vector128<float> sum, Vector128<float> query, Vector128<float> row);
        static abstract float Accumulate(float sum, float query, float row);
    }

    /// <summary>IEEE halves, 2 bytes a value.</summary>
    private readonly struct HalfRow : IRowFormat
    {
        private const uint Magnitude = 0x7fff, Sign = 0x8000;
        private static readonly float Rebias = MathF.ScaleB(1f, 112); // 2^(127 − 15)

        public static Vector512<ushort> Load512(ref byte row, int index) => Vector512.LoadUnsafe(ref Unsafe.As<byte, ushort>(ref row), (nuint)index);
        public static Vector256<ushort> Load256(ref byte row, int index) => Vector256.LoadUnsafe(ref Unsafe.As<byte, ushort>(ref row), (nuint)index);
        public static Vector128<ushort> Load128(ref byte row, int index) => Vector128.LoadUnsafe(ref Unsafe.As<byte, ushort>(ref row), (nuint)index);

        public static Vector512<float> Decode512(Vector512<uint> h, ref float scale, ref float offset, int index)
        {
            var magnitude = ((h & Vector512.Create(Magnitude)) << 13).AsSingle() * Vector512.Create(Rebias);
            return (magnitude.AsUInt32() | ((h & Vector512.Create(Sign)) << 16)).AsSingle();
        }

        public static Vector256<float> Decode256(Vector256<uint> h, ref float scale, ref float offset, int index)
        {
            var magnitude = ((h & Vector256.Create(Magnitude)) << 13).AsSingle() * Vector256.Create(Rebias);
            return (magnitude.AsUInt32() | ((h & Vector256.Create(Sign)) << 16)).AsSingle();
        }

        public static Vector128<float> Decode128(Vector128<uint> h, ref float scale, ref float offset, int index)
        {
            var magnitude = ((h & Vector128.Create(Magnitude)) << 13).AsSingle() * Vector128.Create(Rebias);
            return (magnitude.AsUInt32() | ((h & Vector128.Create(Sign)) << 16)).AsSingle();
        }

        public static float Decode(ReadOnlySpan<byte> row, ReadOnlySpan<float> scale, ReadOnlySpan<float> offset, int index)
            => HalfToSingle(MemoryMarshal.Read<ushort>(row[(2 * index)..]));
    }

    /// <summary>One byte a value, <c>offset[j] + scale[j] × byte</c>.</summary>
    private readonly struct ByteRow : IRowFormat
    {
        public static Vector512<ushort> Load512(ref byte row, int index) => Vector512.WidenLower(Vector256.LoadUnsafe(ref row, (nuint)index).ToVector512Unsafe());
        public static Vector256<ushort> Load256(ref byte row, int index) => Vector256.WidenLower(Vector128.LoadUnsafe(ref row, (nuint)index).ToVector256Unsafe());
        public static Vector128<ushort> Load128(ref byte row, int index) => Vector128.WidenLower(Vector64.LoadUnsafe(ref row, (nuint)index).ToVector128Unsafe());

        public static Vector512<float> Decode512(Vector512<uint> codes, ref float scale, ref float offset, int index)
            => Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(codes.AsInt32()), Vector512.LoadUnsafe(ref scale, (nuint)index), Vector512.LoadUnsafe(ref offset, (nuint)index));

        public static Vector256<float> Decode256(Vector256<uint> codes, ref float scale, ref float offset, int index)
            => Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(codes.AsInt32()), Vector256.LoadUnsafe(ref scale, (nuint)index), Vector256.LoadUnsafe(ref offset, (nuint)index));

        public static Vector128<float> Decode128(Vector128<uint> codes, ref float scale, ref float offset, int index)
            => Vector128.FusedMultiplyAdd(Vector128.ConvertToSingle(codes.AsInt32()), Vector128.LoadUnsafe(ref scale, (nuint)index), Vector128.LoadUnsafe(ref offset, (nuint)index));

        public static float Decode(ReadOnlySpan<byte> row, ReadOnlySpan<float> scale, ReadOnlySpan<float> offset, int index)
            => ByteToSingle(row[index], scale[index], offset[index]);
    }

    /// <summary>Σ (q − x)².</summary>
    private readonly struct SquaredDifference : IRowMetric
    {
        public static Vector512<float> Accumulate512(Vector512<float> sum, Vector512<float> query, Vector512<float> row)
        {
            var d = query - row;
            return Vector512.FusedMultiplyAdd(d, d, sum);
        }

        public static Vector256<float> Accumulate256(Vector256<float> sum, Vector256<float> query, Vector256<float> row)
        {
            var d = query - row;
            return Vector256.FusedMultiplyAdd(d, d, sum);
        }

        public static Vector128<float> Accumulate128(Vector128<float> sum, Vector128<float> query, Vector128<float> row)
        {
            var d = query - row;
            return Vector128.FusedMultiplyAdd(d, d, sum);
        }

        public static float Accumulate(float sum, float query, float row)
        {
            float d = query - row;
            return MathF.FusedMultiplyAdd(d, d, sum);
        }
    }

    /// <summary>Σ q·x.</summary>
    private readonly struct DotProduct : IRowMetric
    {
        public static Vector512<float> Accumulate512(Vector512<float> sum, Vector512<float> query, Vector512<float> row) => Vector512.FusedMultiplyAdd(query, row, sum);
        public static Vector256<float> Accumulate256(Vector256<float> sum, Vector256<float> query, Vector256<float> row) => Vector256.FusedMultiplyAdd(query, row, sum);
        public static Vector128<float> Accumulate128(Vector128<float> sum, Vector128<float> query, Vector128<float> row) => Vector128.FusedMultiplyAdd(query, row, sum);
        public static float Accumulate(float sum, float query, float row) => MathF.FusedMultiplyAdd(query, row, sum);
    }
}
