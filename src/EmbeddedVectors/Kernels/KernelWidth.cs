using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EmbeddedVectors.Kernels;

/// <summary>
/// The SIMD width a kernel body is written for. The public entry points use <see cref="KernelWidths.Preferred"/>;
/// the internal overloads that take a width exist so tests can run every body on one machine.
/// </summary>
internal enum KernelWidth
{
    Scalar = 0,
    Vector128 = 128,
    Vector256 = 256,
    Vector512 = 512,
}

internal static class KernelWidths
{
    /// <summary>The widest width the CPU accelerates; a JIT-time constant.</summary>
    public static KernelWidth Preferred
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.IsHardwareAccelerated ? KernelWidth.Vector512
            : Vector256.IsHardwareAccelerated ? KernelWidth.Vector256
            : Vector128.IsHardwareAccelerated ? KernelWidth.Vector128
            : KernelWidth.Scalar;
    }
}

/// <summary>Helpers the <see cref="Vector128"/> bodies share.</summary>
internal static class Vector128Ops
{
    /// <summary>
    /// <c>x · y + addend</c>: fused on ARM64 and on x86 with FMA; a separate multiply and add on x86 without
    /// (where the fused form is slow software).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> MultiplyAdd<T>(Vector128<T> x, Vector128<T> y, Vector128<T> addend) where T : unmanaged
    {
        if (System.Runtime.Intrinsics.X86.Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported)
        {
            if (typeof(T) == typeof(float)) return Vector128.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), addend.AsSingle()).As<float, T>();
            if (typeof(T) == typeof(double)) return Vector128.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), addend.AsDouble()).As<double, T>();
        }
        return x * y + addend;
    }
}
