using System.Runtime.Intrinsics.X86;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Search;

namespace EmbeddedVectors.Tests.Kernels;

public sealed class FastScanTests
{
    [Theory]
    [InlineData(2, 1)]
    [InlineData(8, 31)]
    [InlineData(16, 32)]
    [InlineData(96, 33)]
    [InlineData(256, 100)]
    public void Pack_and_unpack_round_trip(int m, int count)
    {
        var random = new Random(m * 1000 + count);
        var blocks = new byte[FastScan.BytesFor(count, m)];
        var codes = new byte[count * m];
        for (int i = 0; i < codes.Length; i++) codes[i] = (byte)random.Next(16);
        for (int v = 0; v < count; v++) FastScan.Pack(codes.AsSpan(v * m, m), blocks, v, m);
        var back = new byte[m];
        for (int v = 0; v < count; v++)
        {
            FastScan.Unpack(blocks, v, m, back);
            Assert.Equal(codes.AsSpan(v * m, m).ToArray(), back);
        }
    }

    [SkippableTheory]
    [InlineData(2)]
    [InlineData(8)]
    [InlineData(48)]
    [InlineData(96)]
    [InlineData(256)]
    public void The_AVX2_shuffle_kernel_matches_the_scalar_reference(int m)
    {
        Skip.IfNot(Avx2.IsSupported, "The AVX2 kernel needs AVX2; the 128-bit and scalar kernels are tested separately.");
        AssertBlockSumsMatchTheScalarReference(m, FastScan.SumBlockAvx2);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(48)]
    [InlineData(96)]
    [InlineData(256)]
    public void The_128_bit_shuffle_kernel_matches_the_scalar_reference(int m)
    {
        // Vector128.ShuffleNative has a software form, so this runs on any CPU.
        AssertBlockSumsMatchTheScalarReference(m, FastScan.SumBlockVector128);
    }

    private delegate uint SumBlock(ReadOnlySpan<byte> lut, ReadOnlySpan<byte> codes, int m, Span<ushort> sums, ushort threshold);

    private static void AssertBlockSumsMatchTheScalarReference(int m, SumBlock kernel)
    {
        var random = new Random(m);
        var lut = new byte[m * 16];
        random.NextBytes(lut);
        var block = new byte[FastScan.BlockBytes(m)];
        random.NextBytes(block);
        var simd = new ushort[32];
        var scalar = new ushort[32];
        foreach (ushort threshold in new ushort[] { 0, 1000, (ushort)(m * 128), ushort.MaxValue })
        {
            uint a = kernel(lut, block, m, simd, threshold);
            uint b = FastScan.SumBlockScalar(lut, block, m, scalar, threshold);
            Assert.Equal(scalar, simd);
            Assert.Equal(b, a);
        }
    }

    [Fact]
    public void Scalar_sums_are_exact_table_sums()
    {
        const int m = 6;
        var lut = new byte[m * 16];
        for (int i = 0; i < lut.Length; i++) lut[i] = (byte)(i * 7 % 251);
        var codes = new byte[32 * m];
        var random = new Random(4);
        for (int i = 0; i < codes.Length; i++) codes[i] = (byte)random.Next(16);
        var block = new byte[FastScan.BlockBytes(m)];
        for (int v = 0; v < 32; v++) FastScan.Pack(codes.AsSpan(v * m, m), block, v, m);
        var sums = new ushort[32];
        FastScan.SumBlockScalar(lut, block, m, sums, ushort.MaxValue);
        for (int v = 0; v < 32; v++)
        {
            int expected = 0;
            for (int j = 0; j < m; j++) expected += lut[j * 16 + codes[v * m + j]];
            Assert.Equal(expected, sums[v]);
        }
    }

    [SkippableTheory]
    [InlineData(512, 2)]
    [InlineData(512, 48)]
    [InlineData(128, 2)]
    [InlineData(128, 48)]
    [InlineData(128, 256)]
    public void Every_quantiser_body_gives_the_scalar_bytes(int width, int m)
    {
        Skip.If(width == 512 && !Avx512F.IsSupported, "The 512-bit quantiser needs AVX-512F.");
        var random = new Random(m);
        var table = new float[m * 16];
        for (int i = 0; i < table.Length; i++) table[i] = random.NextSingle() * 5 - 2;
        var expected = new byte[m * 16];
        var actual = new byte[m * 16];
        FastScan.QuantizeTable(table, m, expected, out float scale, out float offset, KernelWidth.Scalar);
        FastScan.QuantizeTable(table, m, actual, out float actualScale, out float actualOffset, KernelWidthData.Width(width));
        Assert.Equal(expected, actual);
        Assert.Equal(scale, actualScale);
        Assert.Equal(offset, actualOffset);
    }

    [SkippableTheory]
    [InlineData(256)]
    [InlineData(128)]
    [InlineData(0)]
    public void Every_scan_body_finds_the_same_candidates(int width)
    {
        Skip.If(width == 256 && !Avx2.IsSupported, "The 256-bit block sum needs AVX2.");
        const int m = 16, count = 200;
        var random = new Random(21);
        var lut = new byte[m * 16];
        random.NextBytes(lut);
        var blocks = new byte[FastScan.BytesFor(count, m)];
        var codes = new byte[m];
        for (int v = 0; v < count; v++)
        {
            for (int j = 0; j < m; j++) codes[j] = (byte)random.Next(16);
            FastScan.Pack(codes, blocks, v, m);
        }
        (float[] Distances, long[] Ids) Run(KernelWidth kernel)
        {
            var distances = new float[10];
            var ids = new long[10];
            var heap = new TopKHeap(distances, ids);
            var candidates = new SequentialCandidates(100);
            FastScan.ScanAtWidth(lut, m, blocks, count, 1f, 2f, ref candidates, ref heap, kernel);
            heap.SortAscending();
            return (distances, ids);
        }
        var expected = Run(KernelWidth.Scalar);
        var actual = Run(KernelWidthData.Width(width));
        Assert.Equal(expected.Ids, actual.Ids);
        Assert.Equal(expected.Distances, actual.Distances);
    }

    [Fact]
    public void Quantised_tables_estimate_distances_within_rounding()
    {
        const int m = 32;
        var random = new Random(9);
        var table = new float[m * 16];
        for (int i = 0; i < table.Length; i++) table[i] = random.NextSingle() * 3 + 1;
        var lut = new byte[m * 16];
        FastScan.QuantizeTable(table, m, lut, out float scale, out float offset);
        var codes = new byte[m];
        for (int trial = 0; trial < 100; trial++)
        {
            float exact = 0;
            int sum = 0;
            for (int j = 0; j < m; j++)
            {
                codes[j] = (byte)random.Next(16);
                exact += table[j * 16 + codes[j]];
                sum += lut[j * 16 + codes[j]];
            }
            // Each entry is off by at most half a step.
            Assert.Equal(exact, offset + sum / scale, m * 0.5f / scale + 1e-4f);
        }
    }

    [Fact]
    public void Scan_finds_the_smallest_estimates_and_ignores_padding()
    {
        const int m = 8, count = 45;
        var random = new Random(11);
        var table = new float[m * 16];
        for (int i = 0; i < table.Length; i++) table[i] = random.NextSingle();
        var lut = new byte[m * 16];
        FastScan.QuantizeTable(table, m, lut, out float scale, out float offset);
        var codes = new byte[count * m];
        for (int i = 0; i < codes.Length; i++) codes[i] = (byte)random.Next(16);
        var blocks = new byte[FastScan.BytesFor(count, m)];
        for (int v = 0; v < count; v++) FastScan.Pack(codes.AsSpan(v * m, m), blocks, v, m);
        var expected = Enumerable.Range(0, count)
            .Select(v => (Id: (long)v, D: offset + Enumerable.Range(0, m).Sum(j => lut[j * 16 + codes[v * m + j]]) / scale))
            .OrderBy(x => x.D).ThenBy(x => x.Id).Take(5).ToArray();
        var distances = new float[5];
        var ids = new long[5];
        var heap = new TopKHeap(distances, ids);
        var candidates = new SequentialCandidates(0);
        FastScan.Scan(lut, m, blocks, count, offset, scale, ref candidates, ref heap);
        Assert.Equal(5, heap.SortAscending());
        Assert.Equal(expected.Select(e => e.Id).ToArray(), ids);
        Assert.All(ids, id => Assert.InRange(id, 0, count - 1));
    }

    [Fact]
    public void Odd_or_oversized_m_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => FastScan.ValidateM(3));
        Assert.Throws<ArgumentException>(() => FastScan.ValidateM(258));
        Assert.Throws<ArgumentException>(() => new EmbeddedVectors.Indexes.IvfPqIndex(384, Metric.L2, new EmbeddedVectors.Indexes.IvfPqOptions { Codes = VectorCodes.Pq4FastScan, M = 3 }));
    }
}
