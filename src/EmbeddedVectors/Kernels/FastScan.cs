using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EmbeddedVectors.Search;

namespace EmbeddedVectors.Kernels;

/// <summary>
/// 4-bit PQ "fast-scan" (André, Kermarrec and Le Scouarnec; FAISS's IndexIVFPQFastScan): codes of 16-centroid
/// sub-quantizers are stored in blocks of 32 vectors so that a distance table of 16 one-byte entries sits in
/// a SIMD register and one byte shuffle looks up 32 codes at once.
/// </summary>
/// <remarks>
/// <para>Block layout (<see cref="BlockBytes"/> = 16 × m bytes for 32 vectors): for each pair of sub-quantizers
/// (2g, 2g + 1), 32 bytes; bytes 0–15 belong to sub-quantizer 2g and bytes 16–31 to 2g + 1; byte p holds the code
/// of vector p in its low nibble and of vector p + 16 in its high nibble. A 256-bit register then holds the
/// pair's codes with each 128-bit lane matching that sub-quantizer's 16-entry table, which is what the in-lane
/// byte shuffle needs. Positions past the list's end are zero codes and are never reported.</para>
/// <para>Tables are quantised to bytes: per sub-quantizer the minimum is subtracted, and one scale maps the
/// widest range to 0–255, so the sum of m entries fits 16 bits for m ≤ 256. Distances are then estimates;
/// re-ranking the shortlist by exact distance restores precision.</para>
/// <para>The block sum has an AVX2 body (one 256-bit shuffle a pair of sub-quantizers), a <see cref="Vector128"/> body
/// (one 128-bit shuffle a sub-quantizer: SSSE3 <c>pshufb</c> or ARM64 <c>tbl</c>) and a scalar one; all give the same sums.</para>
/// </remarks>
internal static class FastScan
{
    public const int BlockSize = 32;
    public const int Centroids = 16;

    /// <summary>Bytes of one block of 32 codes for <paramref name="m"/> sub-quantizers.</summary>
    public static int BlockBytes(int m) => 16 * m;

    /// <summary>Bytes needed for <paramref name="count"/> codes: whole blocks.</summary>
    public static long BytesFor(long count, int m) => (count + BlockSize - 1) / BlockSize * BlockBytes(m);

    /// <summary>Sub-quantizer counts fast-scan accepts: even (codes go in pairs) and at most 256 (16-bit sums).</summary>
    public static void ValidateM(int m)
    {
        if (m < 2 || m % 2 != 0 || m > 256)
            throw new ArgumentException($"Fast-scan needs an even m between 2 and 256; got {m}.", nameof(m));
    }

    /// <summary>Writes the 4-bit code (one byte a sub-quantizer, values below 16) of vector <paramref name="position"/> into its block.</summary>
    public static void Pack(ReadOnlySpan<byte> code, Span<byte> blocks, int position, int m)
    {
        int block = position / BlockSize, p = position % BlockSize;
        var target = blocks.Slice(block * BlockBytes(m), BlockBytes(m));
        int lane = p % 16;
        bool high = p >= 16;
        for (int j = 0; j < m; j++)
        {
            int offset = (j / 2) * 32 + (j % 2) * 16 + lane;
            byte value = code[j];
            target[offset] = high
                ? (byte)((target[offset] & 0x0F) | (value << 4))
                : (byte)((target[offset] & 0xF0) | (value & 0x0F));
        }
    }

    /// <summary>Reads back the code of vector <paramref name="position"/> (one byte a sub-quantizer).</summary>
    public static void Unpack(ReadOnlySpan<byte> blocks, int position, int m, Span<byte> code)
    {
        int block = position / BlockSize, p = position % BlockSize;
        var source = blocks.Slice(block * BlockBytes(m), BlockBytes(m));
        for (int j = 0; j < m; j++)
        {
            byte b = source[(j / 2) * 32 + (j % 2) * 16 + p % 16];
            code[j] = (byte)(p >= 16 ? b >> 4 : b & 0x0F);
        }
    }

    /// <summary>
    /// Quantises a float table (m × 16) to bytes. A code's distance is then about
    /// <c>offset + (sum of its byte entries) / scale</c>.
    /// </summary>
    public static void QuantizeTable(ReadOnlySpan<float> table, int m, Span<byte> lut, out float scale, out float offset)
        => QuantizeTable(table, m, lut, out scale, out offset, QuantizeWidth);

    /// <summary>
    /// The body <see cref="QuantizeTable(ReadOnlySpan{float}, int, Span{byte}, out float, out float)"/> runs: AVX-512's,
    /// else the 128-bit one (also on AVX2, where it beats the 512-bit reduction run in software), else scalar. All give
    /// the same bytes: the reductions are exact and every body rounds to nearest even.
    /// </summary>
    internal static KernelWidth QuantizeWidth
        => Avx512F.IsSupported ? KernelWidth.Vector512 : Vector128.IsHardwareAccelerated ? KernelWidth.Vector128 : KernelWidth.Scalar;

    /// <summary><see cref="QuantizeTable(ReadOnlySpan{float}, int, Span{byte}, out float, out float)"/> with the body of <paramref name="width"/> (512, 128 or scalar).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void QuantizeTable(ReadOnlySpan<float> table, int m, Span<byte> lut, out float scale, out float offset, KernelWidth width)
    {
        if (table.Length < m * Centroids || lut.Length < m * Centroids) throw new ArgumentException("Tables are too short.");
        ref float t = ref MemoryMarshal.GetReference(table);
        float widest = 0f;
        offset = 0f;
        Span<float> minima = stackalloc float[m];
        for (int j = 0; j < m; j++)
        {
            Vector128<float> min4, max4;
            if (width == KernelWidth.Vector128)
            {
                // A row of 16 floats is four 128-bit vectors.
                ref float r = ref Unsafe.Add(ref t, j * Centroids);
                var (r0, r1, r2, r3) = (Vector128.LoadUnsafe(ref r), Vector128.LoadUnsafe(ref r, 4), Vector128.LoadUnsafe(ref r, 8), Vector128.LoadUnsafe(ref r, 12));
                min4 = Vector128.Min(Vector128.Min(r0, r1), Vector128.Min(r2, r3));
                max4 = Vector128.Max(Vector128.Max(r0, r1), Vector128.Max(r2, r3));
            }
            else
            {
                // A row of 16 floats is one 512-bit vector: reduce it by halves.
                var row = Vector512.LoadUnsafe(ref t, (nuint)(j * Centroids));
                var min8 = Vector256.Min(row.GetLower(), row.GetUpper());
                var max8 = Vector256.Max(row.GetLower(), row.GetUpper());
                min4 = Vector128.Min(min8.GetLower(), min8.GetUpper());
                max4 = Vector128.Max(max8.GetLower(), max8.GetUpper());
            }
            float min = MathF.Min(MathF.Min(min4[0], min4[1]), MathF.Min(min4[2], min4[3]));
            float max = MathF.Max(MathF.Max(max4[0], max4[1]), MathF.Max(max4[2], max4[3]));
            minima[j] = min;
            offset += min;
            widest = MathF.Max(widest, max - min);
        }
        scale = widest > 0f ? 255f / widest : 1f;
        if (width == KernelWidth.Vector512 && Avx512F.IsSupported)
        {
            var s = Vector512.Create(scale);
            var top = Vector512.Create(255f);
            ref byte output = ref MemoryMarshal.GetReference(lut);
            for (int j = 0; j < m; j++)
            {
                var row = Vector512.LoadUnsafe(ref t, (nuint)(j * Centroids));
                // Rounds to nearest (the default rounding mode), then narrows each int to a byte.
                var rounded = Avx512F.ConvertToVector512Int32(Vector512.Min((row - Vector512.Create(minima[j])) * s, top));
                Avx512F.ConvertToVector128Byte(rounded).StoreUnsafe(ref output, (nuint)(j * Centroids));
            }
            return;
        }
        if (width == KernelWidth.Vector128)
        {
            var s = Vector128.Create(scale);
            var top = Vector128.Create(255f);
            ref byte output = ref MemoryMarshal.GetReference(lut);
            for (int j = 0; j < m; j++)
            {
                ref float r = ref Unsafe.Add(ref t, j * Centroids);
                var min = Vector128.Create(minima[j]);
                // Round to nearest even, as MathF.Round and the AVX-512 conversion do; the values are 0–255, so narrowing is exact.
                var q0 = Vector128.ConvertToInt32(Vector128.Round(Vector128.Min((Vector128.LoadUnsafe(ref r) - min) * s, top))).AsUInt32();
                var q1 = Vector128.ConvertToInt32(Vector128.Round(Vector128.Min((Vector128.LoadUnsafe(ref r, 4) - min) * s, top))).AsUInt32();
                var q2 = Vector128.ConvertToInt32(Vector128.Round(Vector128.Min((Vector128.LoadUnsafe(ref r, 8) - min) * s, top))).AsUInt32();
                var q3 = Vector128.ConvertToInt32(Vector128.Round(Vector128.Min((Vector128.LoadUnsafe(ref r, 12) - min) * s, top))).AsUInt32();
                Vector128.Narrow(Vector128.Narrow(q0, q1), Vector128.Narrow(q2, q3)).StoreUnsafe(ref output, (nuint)(j * Centroids));
            }
            return;
        }
        for (int j = 0; j < m; j++)
        {
            for (int c = 0; c < Centroids; c++)
                lut[j * Centroids + c] = (byte)MathF.Min(255f, MathF.Round((table[j * Centroids + c] - minima[j]) * scale));
        }
    }

    /// <summary>
    /// Scans <paramref name="count"/> packed codes. A candidate's estimated distance is
    /// <c>bias + (byte sum) / scale</c>; those that beat the heap's worst are offered to <paramref name="candidates"/>.
    /// </summary>
    public static void Scan<TCandidates>(scoped ReadOnlySpan<byte> lut, int m, scoped ReadOnlySpan<byte> blocks, int count, float bias, float scale,
        ref TCandidates candidates, ref TopKHeap heap)
        where TCandidates : IScanCandidates, allows ref struct
        => ScanAtWidth(lut, m, blocks, count, bias, scale, ref candidates, ref heap, ScanWidth);

    /// <summary>The block-sum body <see cref="Scan{TCandidates}(ReadOnlySpan{byte}, int, ReadOnlySpan{byte}, int, float, float, ref TCandidates, ref TopKHeap)"/> runs: AVX2's (256), the 128-bit one, or scalar.</summary>
    internal static KernelWidth ScanWidth
        => Avx2.IsSupported ? KernelWidth.Vector256 : Vector128.IsHardwareAccelerated ? KernelWidth.Vector128 : KernelWidth.Scalar;

    /// <summary>The scan with the block-sum body of <paramref name="width"/> (256 means AVX2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ScanAtWidth<TCandidates>(scoped ReadOnlySpan<byte> lut, int m, scoped ReadOnlySpan<byte> blocks, int count, float bias, float scale,
        ref TCandidates candidates, ref TopKHeap heap, KernelWidth width)
        where TCandidates : IScanCandidates, allows ref struct
    {
        if (lut.Length < m * Centroids) throw new ArgumentException("The lookup table is too short.", nameof(lut));
        if (blocks.Length < BytesFor(count, m)) throw new ArgumentException("Fewer code bytes than codes.", nameof(blocks));
        int blockBytes = BlockBytes(m);
        Span<ushort> sums = stackalloc ushort[BlockSize];
        float inverse = 1f / scale;
        for (int block = 0, start = 0; start < count; block++, start += BlockSize)
        {
            // The integer threshold a block sum must reach; recomputed per block as the heap tightens.
            float limit = (heap.Threshold - bias) * scale;
            if (limit < 0f) return;
            ushort threshold = limit >= ushort.MaxValue ? ushort.MaxValue : (ushort)limit;
            var codes = blocks.Slice(block * blockBytes, blockBytes);
            uint mask = width == KernelWidth.Vector256 ? SumBlockAvx2(lut, codes, m, sums, threshold)
                : width == KernelWidth.Vector128 ? SumBlockVector128(lut, codes, m, sums, threshold)
                : SumBlockScalar(lut, codes, m, sums, threshold);
            int valid = Math.Min(BlockSize, count - start);
            if (valid < BlockSize) mask &= (1u << valid) - 1;
            while (mask != 0)
            {
                int p = BitOperations.TrailingZeroCount(mask);
                mask &= mask - 1;
                float d = bias + sums[p] * inverse;
                if (d <= heap.Threshold && candidates.TryAccept(start + p, out long label)) heap.Push(d, label);
            }
        }
    }

    /// <summary>Sums one block with byte shuffles; returns a bit per vector whose sum is at most <paramref name="threshold"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static uint SumBlockAvx2(ReadOnlySpan<byte> lut, ReadOnlySpan<byte> codes, int m, Span<ushort> sums, ushort threshold)
    {
        ref byte table = ref MemoryMarshal.GetReference(lut);
        ref byte block = ref MemoryMarshal.GetReference(codes);
        var lowNibbles = Vector256.Create((byte)0x0F);
        var lowBytes = Vector256.Create((ushort)0x00FF);
        Vector256<ushort> lowEven = default, lowOdd = default, highEven = default, highOdd = default;
        for (int g = 0; g < m / 2; g++)
        {
            var pairTable = Vector256.LoadUnsafe(ref table, (nuint)(g * 32));
            var packed = Vector256.LoadUnsafe(ref block, (nuint)(g * 32));
            var low = packed & lowNibbles;
            var high = (packed.AsUInt16() >>> 4).AsByte() & lowNibbles;
            var dLow = Avx2.Shuffle(pairTable, low).AsUInt16();
            var dHigh = Avx2.Shuffle(pairTable, high).AsUInt16();
            // Byte sums would overflow: add even and odd bytes into separate 16-bit accumulators.
            lowEven += dLow & lowBytes;
            lowOdd += dLow >>> 8;
            highEven += dHigh & lowBytes;
            highOdd += dHigh >>> 8;
        }
        // Each lane summed one of the pair's sub-quantizers: add the lanes. Even accumulators hold vectors 0, 2, 4…
        var first = Interleave(lowEven.GetLower() + lowEven.GetUpper(), lowOdd.GetLower() + lowOdd.GetUpper());
        var second = Interleave(highEven.GetLower() + highEven.GetUpper(), highOdd.GetLower() + highOdd.GetUpper());
        ref ushort output = ref MemoryMarshal.GetReference(sums);
        first.Lower.StoreUnsafe(ref output);
        first.Upper.StoreUnsafe(ref output, 8);
        second.Lower.StoreUnsafe(ref output, 16);
        second.Upper.StoreUnsafe(ref output, 24);
        return ThresholdMask(first.Lower, first.Upper, second.Lower, second.Upper, threshold);
    }

    /// <summary>
    /// The 128-bit block sum: one sub-quantizer at a time, its 16-entry table in one register and one byte shuffle
    /// (<see cref="Vector128.ShuffleNative(Vector128{byte}, Vector128{byte})"/>: SSSE3 <c>pshufb</c>, ARM64 <c>tbl</c>) looking
    /// up 16 codes. The bytes are widened to 16 bits in vector order, so no interleave is needed at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static uint SumBlockVector128(ReadOnlySpan<byte> lut, ReadOnlySpan<byte> codes, int m, Span<ushort> sums, ushort threshold)
    {
        ref byte table = ref MemoryMarshal.GetReference(lut);
        ref byte block = ref MemoryMarshal.GetReference(codes);
        var lowNibbles = Vector128.Create((byte)0x0F);
        // Vectors 0–7, 8–15 (low nibbles) and 16–23, 24–31 (high nibbles).
        Vector128<ushort> sum0 = default, sum1 = default, sum2 = default, sum3 = default;
        for (int j = 0; j < m; j++)
        {
            // Sub-quantizer j's table is bytes 16j…16j+15 of the table, and its codes bytes 16j…16j+15 of the block.
            var subTable = Vector128.LoadUnsafe(ref table, (nuint)(j * Centroids));
            var packed = Vector128.LoadUnsafe(ref block, (nuint)(j * 16));
            var low = Vector128.ShuffleNative(subTable, packed & lowNibbles);
            var high = Vector128.ShuffleNative(subTable, (packed.AsUInt16() >>> 4).AsByte() & lowNibbles);
            var (low0, low1) = Vector128.Widen(low);
            var (high0, high1) = Vector128.Widen(high);
            sum0 += low0;
            sum1 += low1;
            sum2 += high0;
            sum3 += high1;
        }
        ref ushort output = ref MemoryMarshal.GetReference(sums);
        sum0.StoreUnsafe(ref output);
        sum1.StoreUnsafe(ref output, 8);
        sum2.StoreUnsafe(ref output, 16);
        sum3.StoreUnsafe(ref output, 24);
        return ThresholdMask(sum0, sum1, sum2, sum3, threshold);
    }

    /// <summary>A bit per vector (0–31, eight per argument in order) whose sum is at most <paramref name="threshold"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ThresholdMask(Vector128<ushort> sum0, Vector128<ushort> sum1, Vector128<ushort> sum2, Vector128<ushort> sum3, ushort threshold)
    {
        var limit = Vector128.Create(threshold);
        return Vector128.LessThanOrEqual(sum0, limit).ExtractMostSignificantBits()
            | Vector128.LessThanOrEqual(sum1, limit).ExtractMostSignificantBits() << 8
            | Vector128.LessThanOrEqual(sum2, limit).ExtractMostSignificantBits() << 16
            | Vector128.LessThanOrEqual(sum3, limit).ExtractMostSignificantBits() << 24;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<ushort> Lower, Vector128<ushort> Upper) Interleave(Vector128<ushort> even, Vector128<ushort> odd)
        => (Sse2.UnpackLow(even, odd), Sse2.UnpackHigh(even, odd));

    /// <summary>The reference the SIMD paths are tested against, and the path on CPUs without SIMD.</summary>
    internal static uint SumBlockScalar(ReadOnlySpan<byte> lut, ReadOnlySpan<byte> codes, int m, Span<ushort> sums, ushort threshold)
    {
        Span<byte> code = stackalloc byte[m];
        uint mask = 0;
        for (int p = 0; p < BlockSize; p++)
        {
            Unpack(codes, p, m, code);
            int sum = 0;
            for (int j = 0; j < m; j++) sum += lut[j * Centroids + code[j]];
            sums[p] = (ushort)sum;
            if (sum <= threshold) mask |= 1u << p;
        }
        return mask;
    }
}
