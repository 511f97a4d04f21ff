using System.Runtime.InteropServices;

namespace EmbeddedVectors.IO;

/// <summary>
/// Access-pattern advice for memory-mapped files (<c>madvise</c> on Linux and macOS, where the advice values used
/// here are the same). Advice only: where the call does not exist (Windows) or fails, nothing happens and reads
/// still work, only without the hint.
/// </summary>
internal static unsafe partial class MemoryAdvice
{
    private const int MadvRandom = 1;
    private const int MadvWillNeed = 3;
    private static readonly nuint PageSize = (nuint)Environment.SystemPageSize;
    private static bool s_unavailable = !(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS());

    /// <summary>Whether advice reaches the kernel here (false on Windows, or once the call was found missing).</summary>
    public static bool Available => !s_unavailable;

    /// <summary>
    /// Reads will be scattered: a page fault reads that page rather than the device's whole read-ahead window
    /// (re-ranking reads single rows; on a cold cache this cut the bytes a query reads from megabytes to kilobytes).
    /// </summary>
    public static void Random(byte* start, long length) => Advise(start, length, MadvRandom);

    /// <summary>
    /// These bytes will be read soon: the kernel starts reading the pages that are not resident, all at once and
    /// without waiting, so reads that would each fault in turn overlap on the device.
    /// </summary>
    public static void WillNeed(ReadOnlySpan<byte> bytes)
    {
        fixed (byte* start = bytes) Advise(start, bytes.Length, MadvWillNeed);
    }

    private static void Advise(byte* start, long length, int advice)
    {
        if (s_unavailable || length <= 0) return;
        // madvise wants a page-aligned start; the range is widened to the pages it touches.
        nuint first = (nuint)start & ~(PageSize - 1);
        nuint end = (nuint)start + (nuint)length;
        try
        {
            _ = Madvise((void*)first, end - first, advice);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            s_unavailable = true;
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);
}
