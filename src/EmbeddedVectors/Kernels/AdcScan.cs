using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EmbeddedVectors.Search;

namespace EmbeddedVectors.Kernels;

/// <summary>
/// Decides whether the i-th code of a scanned run may enter the results, and under which label. Implemented by
/// structs so the JIT specialises the scan for each and the common case costs nothing.
/// </summary>
internal interface IScanCandidates
{
    /// <summary>Called only for codes that beat the current worst result.</summary>
    bool TryAccept(int index, out long label);
}

/// <summary>Labels the i-th code with <c>labels[i]</c>.</summary>
internal readonly ref struct LabelledCandidates(ReadOnlySpan<long> labels) : IScanCandidates
{
    private readonly ReadOnlySpan<long> _labels = labels;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAccept(int index, out long label)
    {
        label = _labels[index];
        return true;
    }
}

/// <summary>Labels the i-th code with <c>first + i</c>.</summary>
internal readonly struct SequentialCandidates(long first) : IScanCandidates
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryAccept(int index, out long label)
    {
        label = first + index;
        return true;
    }
}

/// <summary>
/// Asymmetric distance computation over 8-bit PQ codes: each code's distance is a bias plus one table entry per
/// sub-quantizer, and only candidates that beat the heap's current worst are offered to the heap.
/// </summary>
internal static class AdcScan
{
    private const int Ksub = 256;

    /// <summary>Sum of the table entries a code selects.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Distance(ReadOnlySpan<float> table, ReadOnlySpan<byte> code)
    {
        ref float t = ref MemoryMarshal.GetReference(table);
        ref byte c = ref MemoryMarshal.GetReference(code);
        return Sum(ref t, ref c, code.Length);
    }

    /// <summary>Scans <paramref name="count"/> codes of <paramref name="codeSize"/> bytes labelled by <paramref name="labels"/>.</summary>
    public static void Scan(ReadOnlySpan<float> table, int codeSize, ReadOnlySpan<byte> codes, int count, float bias,
        ReadOnlySpan<long> labels, ref TopKHeap heap)
    {
        if (labels.Length < count) throw new ArgumentException("Fewer labels than codes.", nameof(labels));
        var candidates = new LabelledCandidates(labels);
        Scan(table, codeSize, codes, count, bias, ref candidates, ref heap);
    }

    /// <summary>Scans <paramref name="count"/> codes, offering those that beat the heap's worst to <paramref name="candidates"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scan<TCandidates>(ReadOnlySpan<float> table, int codeSize, ReadOnlySpan<byte> codes, int count, float bias,
        ref TCandidates candidates, ref TopKHeap heap)
        where TCandidates : IScanCandidates, allows ref struct
    {
        // One bounds check up front makes the unchecked reads below safe: every code lies inside `codes`
        // and every byte indexes inside its 256-entry row of `table`.
        if (codes.Length < (long)count * codeSize) throw new ArgumentException("Fewer code bytes than codes.", nameof(codes));
        if (table.Length < codeSize * Ksub) throw new ArgumentException("The distance table is too short.", nameof(table));
        ref float t = ref MemoryMarshal.GetReference(table);
        ref byte c = ref MemoryMarshal.GetReference(codes);
        float threshold = heap.Threshold;
        for (int i = 0; i < count; i++)
        {
            float d = bias + Sum(ref t, ref Unsafe.Add(ref c, (nint)i * codeSize), codeSize);
            if (d <= threshold && candidates.TryAccept(i, out long label))
            {
                heap.Push(d, label);
                threshold = heap.Threshold;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Sum(ref float table, ref byte code, int codeSize)
    {
        // Four independent sums let the loads of consecutive sub-quantizers overlap.
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int j = 0;
        for (; j + 4 <= codeSize; j += 4)
        {
            s0 += Unsafe.Add(ref table, j * Ksub + Unsafe.Add(ref code, j));
            s1 += Unsafe.Add(ref table, (j + 1) * Ksub + Unsafe.Add(ref code, j + 1));
            s2 += Unsafe.Add(ref table, (j + 2) * Ksub + Unsafe.Add(ref code, j + 2));
            s3 += Unsafe.Add(ref table, (j + 3) * Ksub + Unsafe.Add(ref code, j + 3));
        }
        for (; j < codeSize; j++) s0 += Unsafe.Add(ref table, j * Ksub + Unsafe.Add(ref code, j));
        return (s0 + s1) + (s2 + s3);
    }
}
