using System.ComponentModel;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace EmbeddedVectors.Benchmarks.Store;

/// <summary>
/// Page-cache control of single files through libc (Linux): evict a file's cached pages with
/// <c>posix_fadvise(POSIX_FADV_DONTNEED)</c>, and count its resident pages with <c>mincore</c>. Nothing here touches
/// the rest of the system's cache.
/// </summary>
internal static unsafe class PageCache
{
    private const string Libc = "libc.so.6";
    private const int PosixFadvDontNeed = 4;
    private const int ProtRead = 1;
    private const int MapShared = 1;

    [DllImport(Libc, SetLastError = true)]
    private static extern int posix_fadvise(int fd, long offset, long length, int advice);

    [DllImport(Libc, SetLastError = true)]
    private static extern int fsync(int fd);

    [DllImport(Libc, SetLastError = true)]
    private static extern nint mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [DllImport(Libc, SetLastError = true)]
    private static extern int munmap(nint address, nuint length);

    [DllImport(Libc, SetLastError = true)]
    private static extern int mincore(nint address, nuint length, byte* vector);

    /// <summary>
    /// Drops every file under <paramref name="directory"/> (recursively) from the page cache: each is opened
    /// read-only, fsynced (dirty pages cannot be dropped), advised DONTNEED for its whole length, and closed.
    /// </summary>
    /// <returns>Files and bytes advised.</returns>
    public static (int Files, long Bytes) Evict(string directory)
    {
        int files = 0;
        long bytes = 0;
        foreach (var file in StoreFiles.All(directory))
        {
            using SafeFileHandle handle = File.OpenHandle(file.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            int fd = (int)handle.DangerousGetHandle();
            if (fsync(fd) != 0) throw new Win32Exception(Marshal.GetLastPInvokeError(), $"fsync {file.FullName}");
            int error = posix_fadvise(fd, 0, 0, PosixFadvDontNeed); // returns the error number, not -1/errno
            if (error != 0) throw new Win32Exception(error, $"posix_fadvise {file.FullName}");
            files++;
            bytes += file.Length;
        }
        return (files, bytes);
    }

    /// <summary>Bytes of the files under <paramref name="directory"/> that are in the page cache now.</summary>
    public static long ResidentBytes(string directory) => StoreFiles.All(directory).Sum(ResidentBytes);

    /// <summary>Bytes of <paramref name="file"/> that are in the page cache now.</summary>
    public static long ResidentBytes(FileInfo file)
    {
        if (file.Length == 0) return 0;
        long page = Environment.SystemPageSize;
        using SafeFileHandle handle = File.OpenHandle(file.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        nuint length = (nuint)file.Length;
        // Mapping alone reads nothing; mincore then reports which pages are cached.
        nint map = mmap(0, length, ProtRead, MapShared, (int)handle.DangerousGetHandle(), 0);
        if (map == -1) throw new Win32Exception(Marshal.GetLastPInvokeError(), $"mmap {file.FullName}");
        try
        {
            var vector = new byte[(file.Length + page - 1) / page];
            fixed (byte* v = vector)
                if (mincore(map, length, v) != 0) throw new Win32Exception(Marshal.GetLastPInvokeError(), $"mincore {file.FullName}");
            return vector.Count(b => (b & 1) != 0) * page;
        }
        finally
        {
            munmap(map, length);
        }
    }
}
