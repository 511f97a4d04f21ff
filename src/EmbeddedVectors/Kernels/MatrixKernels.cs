using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EmbeddedVectors.Kernels;

/// <summary>
/// Dense matrix products for the training code (rotations, Procrustes), in <see cref="float"/> or
/// <see cref="double"/>. The right-hand matrix is packed once into column panels (<see cref="PanelWidth{T}()"/> columns,
/// row after row, zero-padded), so the inner loop reads it contiguously; the micro-kernel keeps a register tile of
/// 4 rows × one panel (16 accumulators of <see cref="Vector512{T}"/>, or 8 of <see cref="Vector256{T}"/> or
/// <see cref="Vector128{T}"/>, for AVX2 and ARM64) and
/// broadcasts one value of each left-hand row per step, as <see cref="CentroidTable"/> does. The parallel entry
/// points split the rows into blocks; the kernels themselves never allocate.
/// </summary>
internal static class MatrixKernels
{
    private const int RowGroup = 4;

    /// <summary>Rows a parallel task multiplies at a time.</summary>
    private const int RowBlock = 32;

    /// <summary>Rows of <c>A</c> folded per step of <see cref="MultiplyTransposedLeft(ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, Span{double}, int)"/>.</summary>
    private const int ReductionChunk = 1024;

    /// <summary>Groups of chunks <see cref="MultiplyTransposedLeft(ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, Span{double}, int)"/> sums separately: a fixed count, so the result is reproducible.</summary>
    private const int ReductionGroups = 8;

    /// <summary>Products smaller than this many multiply-adds run on the calling thread.</summary>
    private const long ParallelThreshold = 1L << 20;

    /// <summary>Columns in one packed panel: four vectors wide (512-bit), two (256- or 128-bit), or eight scalars.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int PanelWidth<T>() where T : unmanaged, INumber<T> => PanelWidth<T>(KernelWidths.Preferred);

    /// <summary>The panel width of the bodies of <paramref name="kernel"/> width (a packed matrix is tied to it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int PanelWidth<T>(KernelWidth kernel) where T : unmanaged, INumber<T> => kernel switch
    {
        KernelWidth.Vector512 => 4 * Vector512<T>.Count,
        KernelWidth.Vector256 => 2 * Vector256<T>.Count,
        KernelWidth.Vector128 => 2 * Vector128<T>.Count,
        _ => 8,
    };

    /// <summary>Values a packed <paramref name="k"/> × <paramref name="p"/> matrix takes.</summary>
    public static int PackedLength<T>(int k, int p) where T : unmanaged, INumber<T> => PackedLength<T>(k, p, KernelWidths.Preferred);

    /// <summary><see cref="PackedLength{T}(int, int)"/> for the bodies of <paramref name="kernel"/> width.</summary>
    internal static int PackedLength<T>(int k, int p, KernelWidth kernel) where T : unmanaged, INumber<T>
    {
        int width = PanelWidth<T>(kernel);
        return checked((p + width - 1) / width * width * k);
    }

    /// <summary>Packs the row-major <paramref name="k"/> × <paramref name="p"/> matrix <paramref name="b"/> into column panels.</summary>
    public static void Pack<T>(ReadOnlySpan<T> b, int k, int p, Span<T> packed) where T : unmanaged, INumber<T>
        => Pack(b, k, p, packed, KernelWidths.Preferred);

    /// <summary><see cref="Pack{T}(ReadOnlySpan{T}, int, int, Span{T})"/> for the bodies of <paramref name="kernel"/> width.</summary>
    internal static void Pack<T>(ReadOnlySpan<T> b, int k, int p, Span<T> packed, KernelWidth kernel) where T : unmanaged, INumber<T>
    {
        int width = PanelWidth<T>(kernel);
        int panels = (p + width - 1) / width;
        if (b.Length < (long)k * p) throw new ArgumentException("The matrix is shorter than k × p.", nameof(b));
        if (packed.Length < PackedLength<T>(k, p, kernel)) throw new ArgumentException("The packed buffer is too short.", nameof(packed));
        for (int q = 0; q < panels; q++)
        {
            int start = q * width;
            int columns = Math.Min(width, p - start);
            var panel = packed.Slice(q * k * width, k * width);
            for (int r = 0; r < k; r++)
            {
                var target = panel.Slice(r * width, width);
                b.Slice(r * p + start, columns).CopyTo(target);
                if (columns < width) target[columns..].Clear();
            }
        }
    }

    /// <summary>Writes the transpose of the row-major <paramref name="rows"/> × <paramref name="columns"/> matrix <paramref name="a"/>.</summary>
    public static void Transpose<T>(ReadOnlySpan<T> a, int rows, int columns, Span<T> transposed) where T : unmanaged
    {
        if (a.Length < (long)rows * columns || transposed.Length < (long)rows * columns)
            throw new ArgumentException("The buffers are shorter than rows × columns.");
        const int tile = 16;
        for (int r0 = 0; r0 < rows; r0 += tile)
        {
            int r1 = Math.Min(rows, r0 + tile);
            for (int c0 = 0; c0 < columns; c0 += tile)
            {
                int c1 = Math.Min(columns, c0 + tile);
                for (int r = r0; r < r1; r++)
                    for (int c = c0; c < c1; c++)
                        transposed[c * rows + r] = a[r * columns + c];
            }
        }
    }

    /// <summary>
    /// <c>C = A · B</c> (or <c>C += A · B</c> when <paramref name="accumulate"/>) on the calling thread: <paramref name="a"/>
    /// is <paramref name="rows"/> × <paramref name="k"/> row-major, <paramref name="packed"/> is <c>B</c> (<paramref name="k"/> ×
    /// <paramref name="p"/>) packed by <see cref="Pack{T}(ReadOnlySpan{T}, int, int, Span{T})"/>, <paramref name="c"/> is <paramref name="rows"/> × <paramref name="p"/> row-major.
    /// </summary>
    public static void MultiplyPacked<T>(ReadOnlySpan<T> a, int rows, int k, ReadOnlySpan<T> packed, int p, Span<T> c, bool accumulate)
        where T : unmanaged, INumber<T>
        => MultiplyPacked(a, rows, k, packed, p, c, accumulate, KernelWidths.Preferred);

    /// <summary>
    /// <see cref="MultiplyPacked{T}(ReadOnlySpan{T}, int, int, ReadOnlySpan{T}, int, Span{T}, bool)"/> with the bodies of
    /// <paramref name="kernel"/> width (<paramref name="packed"/> must have been packed for that width).
    /// </summary>
    internal static void MultiplyPacked<T>(ReadOnlySpan<T> a, int rows, int k, ReadOnlySpan<T> packed, int p, Span<T> c, bool accumulate,
        KernelWidth kernel)
        where T : unmanaged, INumber<T>
    {
        if (a.Length < (long)rows * k) throw new ArgumentException("A is shorter than rows × k.", nameof(a));
        if (packed.Length < PackedLength<T>(k, p, kernel)) throw new ArgumentException("The packed B is too short.", nameof(packed));
        if (c.Length < (long)rows * p) throw new ArgumentException("C is shorter than rows × p.", nameof(c));
        if (rows == 0 || p == 0) return;
        if (k == 0)
        {
            if (!accumulate) c[..(rows * p)].Clear();
            return;
        }
        int width = PanelWidth<T>(kernel);
        int panels = (p + width - 1) / width;
        Span<T> edge = stackalloc T[RowGroup * 64];
        ref T aBase = ref MemoryMarshal.GetReference(a);
        ref T cBase = ref MemoryMarshal.GetReference(c);
        for (int q = 0; q < panels; q++)
        {
            ref T panel = ref Unsafe.Add(ref MemoryMarshal.GetReference(packed), (nint)q * k * width);
            int start = q * width;
            int columns = Math.Min(width, p - start);
            int r = 0;
            for (; r < rows; r += RowGroup)
            {
                int group = Math.Min(RowGroup, rows - r);
                ref T aRow = ref Unsafe.Add(ref aBase, (nint)r * k);
                if (columns == width)
                {
                    Tile(ref aRow, k, group, ref panel, ref Unsafe.Add(ref cBase, (nint)r * p + start), p, accumulate, kernel);
                }
                else
                {
                    // A partial last panel goes through a small buffer, so the kernel always stores whole vectors.
                    for (int i = 0; i < group; i++)
                    {
                        var target = edge.Slice(i * width, width);
                        if (accumulate) c.Slice((r + i) * p + start, columns).CopyTo(target);
                        else target.Clear();
                    }
                    Tile(ref aRow, k, group, ref panel, ref MemoryMarshal.GetReference(edge), width, accumulate: true, kernel);
                    for (int i = 0; i < group; i++)
                        edge.Slice(i * width, columns).CopyTo(c.Slice((r + i) * p + start, columns));
                }
            }
        }
    }

    /// <summary>
    /// <c>C = A · B</c> for row-major <paramref name="a"/> (<paramref name="n"/> × <paramref name="k"/>) and a packed
    /// <c>B</c> (<paramref name="k"/> × <paramref name="p"/>), rows split across <paramref name="threads"/> (0: every core).
    /// </summary>
    public static void Multiply<T>(ReadOnlySpan<T> a, int n, int k, ReadOnlySpan<T> packed, int p, Span<T> c, int threads)
        where T : unmanaged, INumber<T>
        => Multiply(a, n, k, packed, p, c, threads, KernelWidths.Preferred);

    /// <summary><see cref="Multiply{T}(ReadOnlySpan{T}, int, int, ReadOnlySpan{T}, int, Span{T}, int)"/> with the bodies of <paramref name="kernel"/> width.</summary>
    internal static unsafe void Multiply<T>(ReadOnlySpan<T> a, int n, int k, ReadOnlySpan<T> packed, int p, Span<T> c, int threads,
        KernelWidth kernel)
        where T : unmanaged, INumber<T>
    {
        if (a.Length < (long)n * k) throw new ArgumentException("A is shorter than n × k.", nameof(a));
        if (packed.Length < PackedLength<T>(k, p, kernel)) throw new ArgumentException("The packed B is too short.", nameof(packed));
        if (c.Length < (long)n * p) throw new ArgumentException("C is shorter than n × p.", nameof(c));
        int blocks = (n + RowBlock - 1) / RowBlock;
        if (blocks <= 1 || threads == 1 || Environment.ProcessorCount == 1 || (long)n * k * p < ParallelThreshold)
        {
            MultiplyPacked(a, n, k, packed, p, c, accumulate: false, kernel);
            return;
        }
        fixed (T* aPointer = a)
        fixed (T* bPointer = packed)
        fixed (T* cPointer = c)
        {
            nint aAddress = (nint)aPointer, bAddress = (nint)bPointer, cAddress = (nint)cPointer;
            int packedLength = PackedLength<T>(k, p, kernel);
            Parallel.For(0, blocks, Parallelism.Options(threads), block =>
            {
                int start = block * RowBlock;
                int count = Math.Min(RowBlock, n - start);
                var aBlock = new ReadOnlySpan<T>((T*)aAddress + (long)start * k, count * k);
                var cBlock = new Span<T>((T*)cAddress + (long)start * p, count * p);
                MultiplyPacked(aBlock, count, k, new ReadOnlySpan<T>((T*)bAddress, packedLength), p, cBlock, accumulate: false, kernel);
            });
        }
    }

    /// <summary>Convenience form of <see cref="Multiply{T}(ReadOnlySpan{T}, int, int, ReadOnlySpan{T}, int, Span{T}, int)"/> that packs a row-major <paramref name="b"/> first.</summary>
    public static void MultiplyRowMajor<T>(ReadOnlySpan<T> a, int n, int k, ReadOnlySpan<T> b, int p, Span<T> c, int threads)
        where T : unmanaged, INumber<T>
    {
        var packed = new T[PackedLength<T>(k, p)];
        Pack(b, k, p, packed);
        Multiply<T>(a, n, k, packed, p, c, threads);
    }

    /// <summary>
    /// <c>C = Aᵀ · B</c> in double precision, for tall row-major <paramref name="a"/> (<paramref name="n"/> × <paramref name="k"/>)
    /// and <paramref name="b"/> (<paramref name="n"/> × <paramref name="p"/>). The rows are folded in chunks: each chunk is
    /// transposed and packed, multiplied in single precision, and added to a double sum. The chunks are split into a
    /// fixed number of contiguous groups summed in order, so the result does not depend on the thread count or timing.
    /// </summary>
    public static void MultiplyTransposedLeft(ReadOnlySpan<float> a, ReadOnlySpan<float> b, int n, int k, int p, Span<double> c, int threads)
        => MultiplyTransposedLeft(a, b, n, k, p, c, threads, KernelWidths.Preferred);

    /// <summary><see cref="MultiplyTransposedLeft(ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, Span{double}, int)"/> with the bodies of <paramref name="kernel"/> width.</summary>
    internal static void MultiplyTransposedLeft(ReadOnlySpan<float> a, ReadOnlySpan<float> b, int n, int k, int p, Span<double> c, int threads,
        KernelWidth kernel)
    {
        if (a.Length < (long)n * k) throw new ArgumentException("A is shorter than n × k.", nameof(a));
        if (b.Length < (long)n * p) throw new ArgumentException("B is shorter than n × p.", nameof(b));
        if (c.Length < (long)k * p) throw new ArgumentException("C is shorter than k × p.", nameof(c));
        var result = c[..(k * p)];
        result.Clear();
        int chunks = (n + ReductionChunk - 1) / ReductionChunk;
        if (chunks == 0) return;
        int groups = Math.Min(chunks, ReductionGroups);
        var sums = new double[groups][];
        for (int g = 0; g < groups; g++) sums[g] = new double[k * p];
        unsafe
        {
            fixed (float* aPointer = a)
            fixed (float* bPointer = b)
            {
                nint aAddress = (nint)aPointer, bAddress = (nint)bPointer;
                Parallel.For(0, groups, Parallelism.Options(groups == 1 ? 1 : threads),
                    () => new ReductionScratch(k, p, kernel),
                    (group, _, scratch) =>
                    {
                        var sum = sums[group];
                        int first = (int)((long)chunks * group / groups), last = (int)((long)chunks * (group + 1) / groups);
                        for (int chunk = first; chunk < last; chunk++)
                        {
                            int start = chunk * ReductionChunk;
                            int count = Math.Min(ReductionChunk, n - start);
                            var aChunk = new ReadOnlySpan<float>((float*)aAddress + (long)start * k, count * k);
                            var bChunk = new ReadOnlySpan<float>((float*)bAddress + (long)start * p, count * p);
                            Transpose(aChunk, count, k, scratch.Transposed);
                            Pack(bChunk, count, p, scratch.Packed, kernel);
                            MultiplyPacked<float>(scratch.Transposed.AsSpan(0, k * count), k, count, scratch.Packed, p, scratch.Product, accumulate: false, kernel);
                            AddWidened(scratch.Product, sum, kernel);
                        }
                        return scratch;
                    },
                    _ => { });
            }
        }
        foreach (var sum in sums)
            for (int i = 0; i < result.Length; i++) result[i] += sum[i];
    }

    /// <summary><c>sum[i] += (double)values[i]</c>: exact, so every width gives the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddWidened(ReadOnlySpan<float> values, Span<double> sum, KernelWidth kernel)
    {
        int i = 0;
        ref float v = ref MemoryMarshal.GetReference(values);
        ref double s = ref MemoryMarshal.GetReference(sum);
        if (kernel == KernelWidth.Vector512)
        {
            for (; i <= values.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var (lower, upper) = Vector512.Widen(Vector512.LoadUnsafe(ref v, (nuint)i));
                (Vector512.LoadUnsafe(ref s, (nuint)i) + lower).StoreUnsafe(ref s, (nuint)i);
                (Vector512.LoadUnsafe(ref s, (nuint)(i + Vector512<double>.Count)) + upper).StoreUnsafe(ref s, (nuint)(i + Vector512<double>.Count));
            }
        }
        if (kernel != KernelWidth.Scalar)
        {
            // The 512-bit body's remainder, or the whole span on narrower CPUs.
            for (; i <= values.Length - Vector128<float>.Count; i += Vector128<float>.Count)
            {
                var (lower, upper) = Vector128.Widen(Vector128.LoadUnsafe(ref v, (nuint)i));
                (Vector128.LoadUnsafe(ref s, (nuint)i) + lower).StoreUnsafe(ref s, (nuint)i);
                (Vector128.LoadUnsafe(ref s, (nuint)(i + Vector128<double>.Count)) + upper).StoreUnsafe(ref s, (nuint)(i + Vector128<double>.Count));
            }
        }
        for (; i < values.Length; i++) sum[i] += values[i];
    }

    private sealed class ReductionScratch(int k, int p, KernelWidth kernel)
    {
        public readonly float[] Transposed = new float[k * ReductionChunk];
        public readonly float[] Packed = new float[PackedLength<float>(ReductionChunk, p, kernel)];
        public readonly float[] Product = new float[k * p];
    }

    /// <summary>Up to four rows of <c>A</c> times one packed panel, into (or onto) <c>C</c> with row stride <paramref name="ldc"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile<T>(ref T a, int k, int rows, ref T panel, ref T c, int ldc, bool accumulate, KernelWidth kernel)
        where T : unmanaged, INumber<T>
    {
        if (kernel == KernelWidth.Vector512)
        {
            if (rows == RowGroup) Tile4x512(ref a, k, ref panel, ref c, ldc, accumulate);
            else for (int i = 0; i < rows; i++) Tile1x512(ref Unsafe.Add(ref a, (nint)i * k), k, ref panel, ref Unsafe.Add(ref c, (nint)i * ldc), accumulate);
        }
        else if (kernel == KernelWidth.Vector256)
        {
            if (rows == RowGroup) Tile4x256(ref a, k, ref panel, ref c, ldc, accumulate);
            else for (int i = 0; i < rows; i++) Tile1x256(ref Unsafe.Add(ref a, (nint)i * k), k, ref panel, ref Unsafe.Add(ref c, (nint)i * ldc), accumulate);
        }
        else if (kernel == KernelWidth.Vector128)
        {
            if (rows == RowGroup) Tile4x128(ref a, k, ref panel, ref c, ldc, accumulate);
            else for (int i = 0; i < rows; i++) Tile1x128(ref Unsafe.Add(ref a, (nint)i * k), k, ref panel, ref Unsafe.Add(ref c, (nint)i * ldc), accumulate);
        }
        else
        {
            for (int i = 0; i < rows; i++) TileScalar(ref Unsafe.Add(ref a, (nint)i * k), k, ref panel, ref Unsafe.Add(ref c, (nint)i * ldc), accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Fma<T>(Vector512<T> x, Vector512<T> y, Vector512<T> addend) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Vector512.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), addend.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector512.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), addend.AsDouble()).As<double, T>();
        return x * y + addend;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Fma<T>(Vector256<T> x, Vector256<T> y, Vector256<T> addend) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Vector256.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), addend.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector256.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), addend.AsDouble()).As<double, T>();
        return x * y + addend;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<T> Fma<T>(Vector128<T> x, Vector128<T> y, Vector128<T> addend) where T : unmanaged
        => Vector128Ops.MultiplyAdd(x, y, addend);

    private static void Tile4x512<T>(ref T a0, int k, ref T panel, ref T c, int ldc, bool accumulate) where T : unmanaged, INumber<T>
    {
        int w = Vector512<T>.Count;
        ref T a1 = ref Unsafe.Add(ref a0, k);
        ref T a2 = ref Unsafe.Add(ref a0, 2 * k);
        ref T a3 = ref Unsafe.Add(ref a0, 3 * k);
        ref T c0 = ref c;
        ref T c1 = ref Unsafe.Add(ref c, ldc);
        ref T c2 = ref Unsafe.Add(ref c, 2 * ldc);
        ref T c3 = ref Unsafe.Add(ref c, 3 * ldc);
        Vector512<T> s00 = default, s01 = default, s02 = default, s03 = default;
        Vector512<T> s10 = default, s11 = default, s12 = default, s13 = default;
        Vector512<T> s20 = default, s21 = default, s22 = default, s23 = default;
        Vector512<T> s30 = default, s31 = default, s32 = default, s33 = default;
        if (accumulate)
        {
            s00 = Vector512.LoadUnsafe(ref c0); s01 = Vector512.LoadUnsafe(ref c0, (nuint)w); s02 = Vector512.LoadUnsafe(ref c0, (nuint)(2 * w)); s03 = Vector512.LoadUnsafe(ref c0, (nuint)(3 * w));
            s10 = Vector512.LoadUnsafe(ref c1); s11 = Vector512.LoadUnsafe(ref c1, (nuint)w); s12 = Vector512.LoadUnsafe(ref c1, (nuint)(2 * w)); s13 = Vector512.LoadUnsafe(ref c1, (nuint)(3 * w));
            s20 = Vector512.LoadUnsafe(ref c2); s21 = Vector512.LoadUnsafe(ref c2, (nuint)w); s22 = Vector512.LoadUnsafe(ref c2, (nuint)(2 * w)); s23 = Vector512.LoadUnsafe(ref c2, (nuint)(3 * w));
            s30 = Vector512.LoadUnsafe(ref c3); s31 = Vector512.LoadUnsafe(ref c3, (nuint)w); s32 = Vector512.LoadUnsafe(ref c3, (nuint)(2 * w)); s33 = Vector512.LoadUnsafe(ref c3, (nuint)(3 * w));
        }
        ref T row = ref panel;
        int stride = 4 * w;
        for (int j = 0; j < k; j++)
        {
            var b0 = Vector512.LoadUnsafe(ref row);
            var b1 = Vector512.LoadUnsafe(ref row, (nuint)w);
            var b2 = Vector512.LoadUnsafe(ref row, (nuint)(2 * w));
            var b3 = Vector512.LoadUnsafe(ref row, (nuint)(3 * w));
            var v = Vector512.Create(Unsafe.Add(ref a0, j));
            s00 = Fma(v, b0, s00); s01 = Fma(v, b1, s01); s02 = Fma(v, b2, s02); s03 = Fma(v, b3, s03);
            v = Vector512.Create(Unsafe.Add(ref a1, j));
            s10 = Fma(v, b0, s10); s11 = Fma(v, b1, s11); s12 = Fma(v, b2, s12); s13 = Fma(v, b3, s13);
            v = Vector512.Create(Unsafe.Add(ref a2, j));
            s20 = Fma(v, b0, s20); s21 = Fma(v, b1, s21); s22 = Fma(v, b2, s22); s23 = Fma(v, b3, s23);
            v = Vector512.Create(Unsafe.Add(ref a3, j));
            s30 = Fma(v, b0, s30); s31 = Fma(v, b1, s31); s32 = Fma(v, b2, s32); s33 = Fma(v, b3, s33);
            row = ref Unsafe.Add(ref row, stride);
        }
        s00.StoreUnsafe(ref c0); s01.StoreUnsafe(ref c0, (nuint)w); s02.StoreUnsafe(ref c0, (nuint)(2 * w)); s03.StoreUnsafe(ref c0, (nuint)(3 * w));
        s10.StoreUnsafe(ref c1); s11.StoreUnsafe(ref c1, (nuint)w); s12.StoreUnsafe(ref c1, (nuint)(2 * w)); s13.StoreUnsafe(ref c1, (nuint)(3 * w));
        s20.StoreUnsafe(ref c2); s21.StoreUnsafe(ref c2, (nuint)w); s22.StoreUnsafe(ref c2, (nuint)(2 * w)); s23.StoreUnsafe(ref c2, (nuint)(3 * w));
        s30.StoreUnsafe(ref c3); s31.StoreUnsafe(ref c3, (nuint)w); s32.StoreUnsafe(ref c3, (nuint)(2 * w)); s33.StoreUnsafe(ref c3, (nuint)(3 * w));
    }

    private static void Tile1x512<T>(ref T a, int k, ref T panel, ref T c, bool accumulate) where T : unmanaged, INumber<T>
    {
        int w = Vector512<T>.Count;
        Vector512<T> s0 = default, s1 = default, s2 = default, s3 = default;
        if (accumulate)
        {
            s0 = Vector512.LoadUnsafe(ref c); s1 = Vector512.LoadUnsafe(ref c, (nuint)w);
            s2 = Vector512.LoadUnsafe(ref c, (nuint)(2 * w)); s3 = Vector512.LoadUnsafe(ref c, (nuint)(3 * w));
        }
        ref T row = ref panel;
        int stride = 4 * w;
        for (int j = 0; j < k; j++)
        {
            var v = Vector512.Create(Unsafe.Add(ref a, j));
            s0 = Fma(v, Vector512.LoadUnsafe(ref row), s0);
            s1 = Fma(v, Vector512.LoadUnsafe(ref row, (nuint)w), s1);
            s2 = Fma(v, Vector512.LoadUnsafe(ref row, (nuint)(2 * w)), s2);
            s3 = Fma(v, Vector512.LoadUnsafe(ref row, (nuint)(3 * w)), s3);
            row = ref Unsafe.Add(ref row, stride);
        }
        s0.StoreUnsafe(ref c); s1.StoreUnsafe(ref c, (nuint)w);
        s2.StoreUnsafe(ref c, (nuint)(2 * w)); s3.StoreUnsafe(ref c, (nuint)(3 * w));
    }

    private static void Tile4x256<T>(ref T a0, int k, ref T panel, ref T c, int ldc, bool accumulate) where T : unmanaged, INumber<T>
    {
        // 4 rows × 2 vectors: 8 accumulators, 2 panel loads and a broadcast fit the 16 registers of AVX2.
        int w = Vector256<T>.Count;
        ref T a1 = ref Unsafe.Add(ref a0, k);
        ref T a2 = ref Unsafe.Add(ref a0, 2 * k);
        ref T a3 = ref Unsafe.Add(ref a0, 3 * k);
        ref T c0 = ref c;
        ref T c1 = ref Unsafe.Add(ref c, ldc);
        ref T c2 = ref Unsafe.Add(ref c, 2 * ldc);
        ref T c3 = ref Unsafe.Add(ref c, 3 * ldc);
        Vector256<T> s00 = default, s01 = default, s10 = default, s11 = default;
        Vector256<T> s20 = default, s21 = default, s30 = default, s31 = default;
        if (accumulate)
        {
            s00 = Vector256.LoadUnsafe(ref c0); s01 = Vector256.LoadUnsafe(ref c0, (nuint)w);
            s10 = Vector256.LoadUnsafe(ref c1); s11 = Vector256.LoadUnsafe(ref c1, (nuint)w);
            s20 = Vector256.LoadUnsafe(ref c2); s21 = Vector256.LoadUnsafe(ref c2, (nuint)w);
            s30 = Vector256.LoadUnsafe(ref c3); s31 = Vector256.LoadUnsafe(ref c3, (nuint)w);
        }
        ref T row = ref panel;
        int stride = 2 * w;
        for (int j = 0; j < k; j++)
        {
            var b0 = Vector256.LoadUnsafe(ref row);
            var b1 = Vector256.LoadUnsafe(ref row, (nuint)w);
            var v = Vector256.Create(Unsafe.Add(ref a0, j));
            s00 = Fma(v, b0, s00); s01 = Fma(v, b1, s01);
            v = Vector256.Create(Unsafe.Add(ref a1, j));
            s10 = Fma(v, b0, s10); s11 = Fma(v, b1, s11);
            v = Vector256.Create(Unsafe.Add(ref a2, j));
            s20 = Fma(v, b0, s20); s21 = Fma(v, b1, s21);
            v = Vector256.Create(Unsafe.Add(ref a3, j));
            s30 = Fma(v, b0, s30); s31 = Fma(v, b1, s31);
            row = ref Unsafe.Add(ref row, stride);
        }
        s00.StoreUnsafe(ref c0); s01.StoreUnsafe(ref c0, (nuint)w);
        s10.StoreUnsafe(ref c1); s11.StoreUnsafe(ref c1, (nuint)w);
        s20.StoreUnsafe(ref c2); s21.StoreUnsafe(ref c2, (nuint)w);
        s30.StoreUnsafe(ref c3); s31.StoreUnsafe(ref c3, (nuint)w);
    }

    private static void Tile1x256<T>(ref T a, int k, ref T panel, ref T c, bool accumulate) where T : unmanaged, INumber<T>
    {
        int w = Vector256<T>.Count;
        Vector256<T> s0 = default, s1 = default;
        if (accumulate)
        {
            s0 = Vector256.LoadUnsafe(ref c);
            s1 = Vector256.LoadUnsafe(ref c, (nuint)w);
        }
        ref T row = ref panel;
        int stride = 2 * w;
        for (int j = 0; j < k; j++)
        {
            var v = Vector256.Create(Unsafe.Add(ref a, j));
            s0 = Fma(v, Vector256.LoadUnsafe(ref row), s0);
            s1 = Fma(v, Vector256.LoadUnsafe(ref row, (nuint)w), s1);
            row = ref Unsafe.Add(ref row, stride);
        }
        s0.StoreUnsafe(ref c);
        s1.StoreUnsafe(ref c, (nuint)w);
    }

    private static void Tile4x128<T>(ref T a0, int k, ref T panel, ref T c, int ldc, bool accumulate) where T : unmanaged, INumber<T>
    {
        int w = Vector128<T>.Count;
        ref T a1 = ref Unsafe.Add(ref a0, k);
        ref T a2 = ref Unsafe.Add(ref a0, 2 * k);
        ref T a3 = ref Unsafe.Add(ref a0, 3 * k);
        ref T c0 = ref c;
        ref T c1 = ref Unsafe.Add(ref c, ldc);
        ref T c2 = ref Unsafe.Add(ref c, 2 * ldc);
        ref T c3 = ref Unsafe.Add(ref c, 3 * ldc);
        Vector128<T> s00 = default, s01 = default, s10 = default, s11 = default;
        Vector128<T> s20 = default, s21 = default, s30 = default, s31 = default;
        if (accumulate)
        {
            s00 = Vector128.LoadUnsafe(ref c0); s01 = Vector128.LoadUnsafe(ref c0, (nuint)w);
            s10 = Vector128.LoadUnsafe(ref c1); s11 = Vector128.LoadUnsafe(ref c1, (nuint)w);
            s20 = Vector128.LoadUnsafe(ref c2); s21 = Vector128.LoadUnsafe(ref c2, (nuint)w);
            s30 = Vector128.LoadUnsafe(ref c3); s31 = Vector128.LoadUnsafe(ref c3, (nuint)w);
        }
        ref T row = ref panel;
        int stride = 2 * w;
        for (int j = 0; j < k; j++)
        {
            var b0 = Vector128.LoadUnsafe(ref row);
            var b1 = Vector128.LoadUnsafe(ref row, (nuint)w);
            var v = Vector128.Create(Unsafe.Add(ref a0, j));
            s00 = Fma(v, b0, s00); s01 = Fma(v, b1, s01);
            v = Vector128.Create(Unsafe.Add(ref a1, j));
            s10 = Fma(v, b0, s10); s11 = Fma(v, b1, s11);
            v = Vector128.Create(Unsafe.Add(ref a2, j));
            s20 = Fma(v, b0, s20); s21 = Fma(v, b1, s21);
            v = Vector128.Create(Unsafe.Add(ref a3, j));
            s30 = Fma(v, b0, s30); s31 = Fma(v, b1, s31);
            row = ref Unsafe.Add(ref row, stride);
        }
        s00.StoreUnsafe(ref c0); s01.StoreUnsafe(ref c0, (nuint)w);
        s10.StoreUnsafe(ref c1); s11.StoreUnsafe(ref c1, (nuint)w);
        s20.StoreUnsafe(ref c2); s21.StoreUnsafe(ref c2, (nuint)w);
        s30.StoreUnsafe(ref c3); s31.StoreUnsafe(ref c3, (nuint)w);
    }

    private static void Tile1x128<T>(ref T a, int k, ref T panel, ref T c, bool accumulate) where T : unmanaged, INumber<T>
    {
        int w = Vector128<T>.Count;
        Vector128<T> s0 = default, s1 = default;
        if (accumulate)
        {
            s0 = Vector128.LoadUnsafe(ref c);
            s1 = Vector128.LoadUnsafe(ref c, (nuint)w);
        }
        ref T row = ref panel;
        int stride = 2 * w;
        for (int j = 0; j < k; j++)
        {
            var v = Vector128.Create(Unsafe.Add(ref a, j));
            s0 = Fma(v, Vector128.LoadUnsafe(ref row), s0);
            s1 = Fma(v, Vector128.LoadUnsafe(ref row, (nuint)w), s1);
            row = ref Unsafe.Add(ref row, stride);
        }
        s0.StoreUnsafe(ref c);
        s1.StoreUnsafe(ref c, (nuint)w);
    }

    private static void TileScalar<T>(ref T a, int k, ref T panel, ref T c, bool accumulate) where T : unmanaged, INumber<T>
    {
        const int width = 8;
        Span<T> sum = stackalloc T[width];
        if (accumulate) MemoryMarshal.CreateReadOnlySpan(ref c, width).CopyTo(sum);
        else sum.Clear();
        for (int j = 0; j < k; j++)
        {
            T v = Unsafe.Add(ref a, j);
            ref T row = ref Unsafe.Add(ref panel, j * width);
            for (int i = 0; i < width; i++) sum[i] += v * Unsafe.Add(ref row, i);
        }
        sum.CopyTo(MemoryMarshal.CreateSpan(ref c, width));
    }
}
