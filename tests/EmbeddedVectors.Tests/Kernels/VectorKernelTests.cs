using System.Runtime.Intrinsics;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Search;

namespace EmbeddedVectors.Tests.Kernels;

public sealed class VectorKernelTests
{
    private static (float[] X, float[] Y) RandomPair(int length, int seed)
    {
        var random = new Random(seed);
        var x = new float[length];
        var y = new float[length];
        for (int i = 0; i < length; i++)
        {
            x[i] = random.NextSingle() * 2 - 1;
            y[i] = random.NextSingle() * 2 - 1;
        }
        return (x, y);
    }

    private static double ReferenceL2(float[] x, float[] y)
    {
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
        return sum;
    }

    private static double ReferenceDot(float[] x, float[] y)
    {
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += (double)x[i] * y[i];
        return sum;
    }

    public static TheoryData<int> Lengths()
    {
        var data = new TheoryData<int>();
        for (int n = 1; n <= 70; n++) data.Add(n);
        foreach (int n in new[] { 127, 128, 129, 383, 384, 385, 1000 }) data.Add(n);
        return data;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Every_width_of_squared_L2_matches_the_reference(int length)
    {
        var (x, y) = RandomPair(length, length);
        double expected = ReferenceL2(x, y);
        double tolerance = 1e-5 * Math.Max(1, expected);
        Assert.Equal(expected, VectorKernels.SquaredL2Scalar(x, y), tolerance);
        Assert.Equal(expected, VectorKernels.SquaredL2(x, y), tolerance);
        // Every body runs whether or not the CPU accelerates its width (the Vector API falls back to software).
        if (length >= 4) Assert.Equal(expected, VectorKernels.SquaredL2Vector128(x, y), tolerance);
        if (length >= 8) Assert.Equal(expected, VectorKernels.SquaredL2Vector256(x, y), tolerance);
        if (length >= 16) Assert.Equal(expected, VectorKernels.SquaredL2Vector512(x, y), tolerance);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Every_width_of_the_inner_product_matches_the_reference(int length)
    {
        var (x, y) = RandomPair(length, 1000 + length);
        double expected = ReferenceDot(x, y);
        double tolerance = 1e-5 * Math.Max(1, Math.Sqrt(length));
        Assert.Equal(expected, VectorKernels.DotScalar(x, y), tolerance);
        Assert.Equal(expected, VectorKernels.Dot(x, y), tolerance);
        if (length >= 4) Assert.Equal(expected, VectorKernels.DotVector128(x, y), tolerance);
        if (length >= 8) Assert.Equal(expected, VectorKernels.DotVector256(x, y), tolerance);
        if (length >= 16) Assert.Equal(expected, VectorKernels.DotVector512(x, y), tolerance);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void The_entry_points_run_the_widest_accelerated_body_the_length_allows(int length)
    {
        var (x, y) = RandomPair(length, 2000 + length);
        var (l2, dot) = Vector512.IsHardwareAccelerated && length >= 16 ? (VectorKernels.SquaredL2Vector512(x, y), VectorKernels.DotVector512(x, y))
            : Vector256.IsHardwareAccelerated && length >= 8 ? (VectorKernels.SquaredL2Vector256(x, y), VectorKernels.DotVector256(x, y))
            : !Vector256.IsHardwareAccelerated && Vector128.IsHardwareAccelerated && length >= 4 ? (VectorKernels.SquaredL2Vector128(x, y), VectorKernels.DotVector128(x, y))
            : (VectorKernels.SquaredL2Scalar(x, y), VectorKernels.DotScalar(x, y));
        Assert.Equal(l2, VectorKernels.SquaredL2(x, y));
        Assert.Equal(dot, VectorKernels.Dot(x, y));
    }

    [Fact]
    public void Vectors_of_different_lengths_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => VectorKernels.SquaredL2(new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => VectorKernels.Dot(new float[16], new float[17]));
    }

    [Fact]
    public void Normalize_makes_unit_vectors_and_rejects_zero()
    {
        var v = new float[] { 3, 4 };
        VectorKernels.Normalize(v);
        Assert.Equal(0.6f, v[0], 6);
        Assert.Equal(0.8f, v[1], 6);
        Assert.Throws<ArgumentException>(() => VectorKernels.Normalize(new float[5]));
    }

    public static TheoryData<int, int> WidthsAndShortLengths()
    {
        var data = new TheoryData<int, int>();
        foreach (var width in KernelWidthData.All)
            foreach (int n in new[] { 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 100 }) data.Add(width, n);
        return data;
    }

    [Theory]
    [MemberData(nameof(WidthsAndShortLengths))]
    public void Every_width_of_MultiplyAdd_matches_the_reference(int width, int length)
    {
        var (a, b) = RandomPair(length, 7 + length);
        var result = new float[length];
        VectorKernels.MultiplyAdd(a, b, -2f, result, KernelWidthData.Width(width));
        for (int i = 0; i < length; i++) Assert.Equal(a[i] - 2f * b[i], result[i], 5);
    }

    [Fact]
    public void MultiplyAdd_runs_the_preferred_body_and_works_in_place()
    {
        var (a, b) = RandomPair(100, 8);
        var expected = new float[100];
        VectorKernels.MultiplyAdd(a, b, 0.5f, expected, KernelWidths.Preferred);
        VectorKernels.MultiplyAdd(a, b, 0.5f, a);
        Assert.Equal(expected, a);
    }

    [Fact]
    public void TopKHeap_keeps_the_k_smallest_sorted_with_ties_by_id()
    {
        var random = new Random(5);
        var distances = new float[10];
        var ids = new long[10];
        var heap = new TopKHeap(distances, ids);
        var all = new List<(float D, long Id)>();
        for (int i = 0; i < 1000; i++)
        {
            float d = random.Next(50); // many ties
            heap.Push(d, i);
            all.Add((d, i));
        }
        int found = heap.SortAscending();
        var expected = all.OrderBy(p => p.D).ThenBy(p => p.Id).Take(10).ToArray();
        Assert.Equal(10, found);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(expected[i].D, distances[i]);
            Assert.Equal(expected[i].Id, ids[i]);
        }
    }

    [Fact]
    public void TopKHeap_with_fewer_candidates_than_slots_returns_them_all()
    {
        var heap = new TopKHeap(new float[5], new long[5]);
        heap.Push(3, 1);
        heap.Push(1, 2);
        Assert.Equal(2, heap.SortAscending());
    }

    [Fact]
    public void TopKHeap_taken_unordered_holds_the_same_k_as_sorted()
    {
        var random = new Random(11);
        var sortedDistances = new float[100];
        var sortedIds = new long[100];
        var unorderedDistances = new float[100];
        var unorderedIds = new long[100];
        var sorted = new TopKHeap(sortedDistances, sortedIds);
        var unordered = new TopKHeap(unorderedDistances, unorderedIds);
        for (int i = 0; i < 5000; i++)
        {
            float d = random.Next(300);
            sorted.Push(d, i);
            unordered.Push(d, i);
        }
        Assert.Equal(sorted.SortAscending(), unordered.TakeUnordered());
        var taken = unorderedIds.Zip(unorderedDistances).OrderBy(p => p.Second).ThenBy(p => p.First).Select(p => p.First).ToArray();
        Assert.Equal(sortedIds, taken);
    }
}
