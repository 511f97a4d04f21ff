using EmbeddedVectors.Kernels;

namespace EmbeddedVectors.Tests.Kernels;

/// <summary>
/// The kernel widths in bits (0 for scalar), for theories that run every body of a kernel on the same inputs. The
/// theories take the bits as an int because <see cref="KernelWidth"/> is internal and test methods are public.
/// </summary>
internal static class KernelWidthData
{
    /// <summary>Every width, widest first.</summary>
    public static readonly int[] All = [(int)KernelWidth.Vector512, (int)KernelWidth.Vector256, (int)KernelWidth.Vector128, (int)KernelWidth.Scalar];

    public static KernelWidth Width(int bits) => (KernelWidth)bits;
}
