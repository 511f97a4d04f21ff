using System.Numerics;
using EmbeddedVectors.Kernels;

namespace EmbeddedVectors.Tests.Kernels;

public sealed class MatrixKernelTests
{
    private static T[] RandomMatrix<T>(int count, int seed) where T : INumber<T>
    {
        var random = new Random(seed);
        var values = new T[count];
        for (int i = 0; i < count; i++) values[i] = T.CreateChecked(random.NextDouble() * 2 - 1);
        return values;
    }

    /// <summary>C = A · B (or C + A · B), row-major, summed in double.</summary>
    private static double[] Reference<T>(T[] a, T[] b, int rows, int k, int p, T[]? start = null) where T : INumber<T>
    {
        var c = new double[rows * p];
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < p; q++)
            {
                double sum = start is null ? 0 : double.CreateChecked(start[r * p + q]);
                for (int j = 0; j < k; j++) sum += double.CreateChecked(a[r * k + j]) * double.CreateChecked(b[j * p + q]);
                c[r * p + q] = sum;
            }
        return c;
    }

    private static void AssertClose<T>(double[] expected, T[] actual, int k) where T : INumber<T>
    {
        double tolerance = (typeof(T) == typeof(float) ? 1e-5 : 1e-12) * Math.Max(1, k);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], double.CreateChecked(actual[i]), tolerance);
    }

    private static readonly (int Rows, int K, int P)[] Shapes =
        [(1, 1, 1), (3, 5, 7), (4, 8, 16), (5, 17, 33), (8, 3, 64), (9, 64, 65), (13, 31, 100)];

    public static TheoryData<int, int, int, int, bool> ShapesWidthsAndModes()
    {
        var data = new TheoryData<int, int, int, int, bool>();
        foreach (int width in KernelWidthData.All)
            foreach (var (rows, k, p) in Shapes)
                foreach (bool accumulate in new[] { false, true }) data.Add(rows, k, p, width, accumulate);
        return data;
    }

    [Theory]
    [MemberData(nameof(ShapesWidthsAndModes))]
    public void Every_width_of_the_packed_product_matches_the_reference_in_float(int rows, int k, int p, int width, bool accumulate)
        => AssertPackedProduct<float>(rows, k, p, KernelWidthData.Width(width), accumulate);

    [Theory]
    [MemberData(nameof(ShapesWidthsAndModes))]
    public void Every_width_of_the_packed_product_matches_the_reference_in_double(int rows, int k, int p, int width, bool accumulate)
        => AssertPackedProduct<double>(rows, k, p, KernelWidthData.Width(width), accumulate);

    private static void AssertPackedProduct<T>(int rows, int k, int p, KernelWidth width, bool accumulate) where T : unmanaged, INumber<T>
    {
        var a = RandomMatrix<T>(rows * k, rows * 100 + k);
        var b = RandomMatrix<T>(k * p, p);
        var start = RandomMatrix<T>(rows * p, 7);
        var packed = new T[MatrixKernels.PackedLength<T>(k, p, width)];
        MatrixKernels.Pack<T>(b, k, p, packed, width);
        var c = accumulate ? (T[])start.Clone() : RandomMatrix<T>(rows * p, 8); // garbage that must be overwritten
        MatrixKernels.MultiplyPacked<T>(a, rows, k, packed, p, c, accumulate, width);
        AssertClose(Reference(a, b, rows, k, p, accumulate ? start : null), c, k);
    }

    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(128)]
    [InlineData(0)]
    public void Panels_are_whole_vectors_and_padded_with_zeros(int width)
    {
        var kernel = KernelWidthData.Width(width);
        int panel = MatrixKernels.PanelWidth<float>(kernel);
        Assert.Equal(width == 512 ? 64 : width == 256 ? 16 : 8, panel);
        Assert.Equal(width == 512 ? 32 : width == 256 ? 8 : width == 128 ? 4 : 8, MatrixKernels.PanelWidth<double>(kernel));
        const int k = 3, p = 10;
        var b = RandomMatrix<float>(k * p, 1);
        var packed = new float[MatrixKernels.PackedLength<float>(k, p, kernel)];
        Assert.Equal((p + panel - 1) / panel * panel * k, packed.Length);
        Array.Fill(packed, float.NaN);
        MatrixKernels.Pack<float>(b, k, p, packed, kernel);
        for (int q = 0; q < packed.Length / (panel * k); q++)
            for (int r = 0; r < k; r++)
                for (int i = 0; i < panel; i++)
                {
                    int column = q * panel + i;
                    Assert.Equal(column < p ? b[r * p + column] : 0f, packed[(q * k + r) * panel + i]);
                }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_empty_inner_dimension_clears_or_keeps_the_output(bool accumulate)
    {
        var c = new float[] { 1, 2, 3, 4, 5, 6 };
        MatrixKernels.MultiplyPacked<float>([], 2, 0, [], 3, c, accumulate);
        Assert.Equal(accumulate ? new float[] { 1, 2, 3, 4, 5, 6 } : new float[6], c);
    }

    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(128)]
    [InlineData(0)]
    public void The_parallel_product_matches_the_reference_and_the_serial_one(int width)
    {
        // Large enough to be split across threads (several row blocks, over a million multiply-adds).
        const int n = 300, k = 64, p = 70;
        var kernel = KernelWidthData.Width(width);
        var a = RandomMatrix<float>(n * k, 1);
        var b = RandomMatrix<float>(k * p, 2);
        var packed = new float[MatrixKernels.PackedLength<float>(k, p, kernel)];
        MatrixKernels.Pack<float>(b, k, p, packed, kernel);
        var parallel = new float[n * p];
        var serial = new float[n * p];
        MatrixKernels.Multiply<float>(a, n, k, packed, p, parallel, threads: 2, kernel);
        MatrixKernels.Multiply<float>(a, n, k, packed, p, serial, threads: 1, kernel);
        AssertClose(Reference(a, b, n, k, p), parallel, k);
        Assert.Equal(serial, parallel);
    }

    [Fact]
    public void The_row_major_convenience_form_packs_for_the_preferred_width()
    {
        const int n = 37, k = 19, p = 23;
        var a = RandomMatrix<double>(n * k, 3);
        var b = RandomMatrix<double>(k * p, 4);
        var c = new double[n * p];
        MatrixKernels.MultiplyRowMajor<double>(a, n, k, b, p, c, threads: 0);
        AssertClose(Reference(a, b, n, k, p), c, k);
    }

    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(128)]
    [InlineData(0)]
    public void Every_width_of_the_transposed_left_product_matches_the_reference(int width)
    {
        // 2,500 rows are three chunks of the reduction; k and p are not multiples of any vector width.
        const int n = 2500, k = 7, p = 19;
        var a = RandomMatrix<float>(n * k, 5);
        var b = RandomMatrix<float>(n * p, 6);
        var transposed = new float[n * k];
        MatrixKernels.Transpose<float>(a, n, k, transposed);
        var expected = Reference(transposed, b, k, n, p);
        var c = new double[k * p];
        MatrixKernels.MultiplyTransposedLeft(a, b, n, k, p, c, threads: 2, KernelWidthData.Width(width));
        for (int i = 0; i < c.Length; i++) Assert.Equal(expected[i], c[i], 1e-5 * Math.Sqrt(n));
        var again = new double[k * p];
        MatrixKernels.MultiplyTransposedLeft(a, b, n, k, p, again, threads: 1, KernelWidthData.Width(width));
        Assert.Equal(c, again); // a fixed grouping: the thread count does not change the bits
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 17)]
    [InlineData(16, 16)]
    [InlineData(33, 20)]
    public void Transpose_swaps_rows_and_columns(int rows, int columns)
    {
        var a = RandomMatrix<float>(rows * columns, rows + columns);
        var t = new float[rows * columns];
        MatrixKernels.Transpose<float>(a, rows, columns, t);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++) Assert.Equal(a[r * columns + c], t[c * rows + r]);
    }

    [Fact]
    public void Short_buffers_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => MatrixKernels.Pack<float>(new float[5], 2, 3, new float[MatrixKernels.PackedLength<float>(2, 3)]));
        Assert.Throws<ArgumentException>(() => MatrixKernels.Pack<float>(new float[6], 2, 3, new float[1]));
        Assert.Throws<ArgumentException>(() => MatrixKernels.MultiplyPacked<float>(new float[5], 2, 3, new float[MatrixKernels.PackedLength<float>(3, 2)], 2, new float[4], false));
        Assert.Throws<ArgumentException>(() => MatrixKernels.MultiplyTransposedLeft(new float[6], new float[6], 3, 2, 2, new double[3], 1));
    }
}
