using System.Runtime.InteropServices;

namespace EmbeddedVectors.Storage;

/// <summary>Crash-safe file replacement: write a temporary file, flush it to disk, rename it over the old one, flush the directory.</summary>
internal static class DurableFile
{
    /// <summary>Replaces <paramref name="path"/> with <paramref name="contents"/> so that after a crash either the old or the new file is there, whole.</summary>
    public static void ReplaceAtomically(string path, ReadOnlySpan<byte> contents)
    {
        string temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(contents);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        FlushDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>
    /// Makes a rename or a file creation in <paramref name="directory"/> durable. On Linux a renamed file's new
    /// name lives in the directory, which must be flushed itself; Windows has no such call and needs none.
    /// </summary>
    public static void FlushDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        int fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0) return;
        try { _ = Fsync(fd); }
        finally { _ = Close(fd); }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
