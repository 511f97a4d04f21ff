using System.Runtime.InteropServices;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Storage;

namespace EmbeddedVectors.Tests.Kernels;

/// <summary>The encoded-row kernels: every width against the scalar body and against a float64 reference on the decoded row.</summary>
public sealed class RowKernelTests
{
    /// <summary>Lengths × widths (a <see cref="RowKernelWidth"/> as an int: the enum is internal).</summary>
    public static TheoryData<int, int> LengthsAndWidths()
    {
        var data = new TheoryData<int, int>();
        foreach (var width in new[] { RowKernelWidth.Scalar, RowKernelWidth.Vector128, RowKernelWidth.Vector256, RowKernelWidth.Vector512, RowKernelWidth.Auto })
        {
            foreach (int n in new[] { 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 383, 384, 385, 1000 })
                data.Add(n, (int)width);
        }
        return data;
    }

    private static float[] Random(int length, int seed, float range)
    {
        var random = new System.Random(seed);
        var x = new float[length];
        for (int i = 0; i < length; i++) x[i] = (random.NextSingle() * 2 - 1) * range;
        return x;
    }

    private static (double L2, double Dot) Reference(float[] query, float[] row)
    {
        double l2 = 0, dot = 0;
        for (int i = 0; i < query.Length; i++)
        {
            double d = (double)query[i] - row[i];
            l2 += d * d;
            dot += (double)query[i] * row[i];
        }
        return (l2, dot);
    }

    private static void AssertClose(double expected, float actual, double scale) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-5 * scale + 1e-6, $"expected {expected}, got {actual}");

    [Theory]
    [MemberData(nameof(LengthsAndWidths))]
    public void Half_rows_give_the_distance_to_the_decoded_row_at_every_width(int n, int widthValue)
    {
        var width = (RowKernelWidth)widthValue;
        var query = Random(n, 1, 1f);
        var vector = Random(n, 2, 3f);
        vector[0] = 6e-6f; // a subnormal half
        if (n > 1) vector[1] = -1e-7f; // rounds to a (negative) zero or subnormal
        var codec = RowCodec.Plain(RowEncoding.Float16, n);
        var row = new byte[codec.RowBytes];
        codec.Encode(vector, row);
        var decoded = new float[n];
        codec.Decode(row, decoded);
        var (l2, dot) = Reference(query, decoded);
        float scalarL2 = RowKernels.HalfRankingDistance(Metric.L2, query, row, RowKernelWidth.Scalar);
        float actualL2 = RowKernels.HalfRankingDistance(Metric.L2, query, row, width);
        float actualIp = RowKernels.HalfRankingDistance(Metric.InnerProduct, query, row, width);
        AssertClose(l2, actualL2, l2);
        AssertClose(l2, scalarL2, l2);
        AssertClose(-dot, actualIp, n);
    }

    [Theory]
    [MemberData(nameof(LengthsAndWidths))]
    public void Byte_rows_give_the_distance_to_the_decoded_row_at_every_width(int n, int widthValue)
    {
        var width = (RowKernelWidth)widthValue;
        var query = Random(n, 3, 1f);
        var sample = Random(4 * n, 4, 2f);
        var codec = RowCodec.TrainInt8(sample, 4, n);
        var vector = Random(n, 5, 2.5f); // partly outside the trained range: clamped
        var row = new byte[codec.RowBytes];
        codec.Encode(vector, row);
        var decoded = new float[n];
        codec.Decode(row, decoded);
        var (l2, dot) = Reference(query, decoded);
        float actualL2 = RowKernels.ByteRankingDistance(Metric.L2, query, row, codec.Scales, codec.Offsets, width);
        float actualIp = RowKernels.ByteRankingDistance(Metric.InnerProduct, query, row, codec.Scales, codec.Offsets, width);
        AssertClose(l2, actualL2, l2);
        AssertClose(-dot, actualIp, n);
        Assert.Equal(RowKernels.ByteRankingDistance(Metric.L2, query, row, codec.Scales, codec.Offsets, RowKernelWidth.Scalar), actualL2, l2 * 1e-5 + 1e-6);
    }

    [Fact]
    public void The_SIMD_half_decode_is_exact_for_every_finite_half()
    {
        // Every finite half, 8 at a time, against .NET's conversion: a one-hot query picks out one value.
        var bits = new List<ushort>();
        for (int h = 0; h <= ushort.MaxValue; h++)
        {
            if (Half.IsFinite(BitConverter.UInt16BitsToHalf((ushort)h))) bits.Add((ushort)h);
        }
        const int n = 64;
        var query = new float[n];
        var row = new ushort[n];
        foreach (var width in new[] { RowKernelWidth.Vector128, RowKernelWidth.Vector256, RowKernelWidth.Vector512 })
        {
            for (int start = 0; start < bits.Count; start += n)
            {
                for (int i = 0; i < n; i++) row[i] = bits[Math.Min(start + i, bits.Count - 1)];
                int probe = start % n;
                Array.Clear(query);
                query[probe] = 1f;
                float expected = (float)BitConverter.UInt16BitsToHalf(row[probe]);
                float dot = -RowKernels.HalfRankingDistance(Metric.InnerProduct, query, MemoryMarshal.AsBytes(row.AsSpan()), width);
                Assert.Equal(expected, dot);
            }
        }
    }

    [Fact]
    public void Float16_encoding_clamps_beyond_the_largest_half_and_int8_clamps_to_the_trained_range()
    {
        var half = RowCodec.Plain(RowEncoding.Float16, 3);
        var row = new byte[half.RowBytes];
        half.Encode([1e6f, -70000f, 1.5f], row);
        var decoded = new float[3];
        half.Decode(row, decoded);
        Assert.Equal([65504f, -65504f, 1.5f], decoded);

        var int8 = RowCodec.TrainInt8([0f, -1f, 10f, 1f], 2, 2); // dimension 0 in 0..10, dimension 1 in -1..1
        var bytes = new byte[2];
        int8.Encode([20f, -5f], bytes);
        Assert.Equal([255, 0], bytes);
        int8.Encode([5f, 0f], bytes);
        int8.Decode(bytes, decoded.AsSpan(0, 2));
        Assert.Equal(5f, decoded[0], 0.05f);
        Assert.Equal(0f, decoded[1], 0.005f);
    }
}
