using System.Diagnostics;

namespace EmbeddedVectors.Tests.Trust;

/// <summary>
/// A small tmpfs mounted for one test, so that the disk really fills. Tests call <see cref="Mount"/>, which
/// skips the test (with the reason) where mounting is not allowed: not root, no tmpfs, not Linux.
/// </summary>
public sealed class SmallDisk : IDisposable
{
    private SmallDisk(string path) => Path = path;

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>A file in <see cref="Path"/> that takes space, so that <see cref="FreeSpace"/> can give it back.</summary>
    public string Filler => System.IO.Path.Combine(Path, "filler");

    /// <summary>Mounts a tmpfs of <paramref name="megabytes"/> MiB, or skips the test.</summary>
    public static SmallDisk Mount(int megabytes)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "a small disk is a tmpfs mount, which needs Linux");
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ev-full-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        var (code, output) = Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m", "tmpfs", path);
        if (code != 0)
        {
            Directory.Delete(path);
            Skip.If(true, $"cannot mount a {megabytes} MiB tmpfs here (mount exited {code}: {output.Trim()}); the disk-full tests need root");
        }
        return new SmallDisk(path);
    }

    /// <summary>Fills the disk up to <paramref name="leaveBytes"/> free bytes with the filler file.</summary>
    public void Fill(long leaveBytes = 0)
    {
        using var file = new FileStream(Filler, FileMode.Append, FileAccess.Write);
        var block = new byte[64 << 10];
        Array.Fill(block, (byte)1);
        try
        {
            while (new DriveInfo(Path).AvailableFreeSpace > leaveBytes + block.Length) file.Write(block);
            file.Flush();
        }
        catch (IOException) { } // full already
    }

    /// <summary>Remounts the disk read-only (EROFS for every write, even root's).</summary>
    public void RemountReadOnly()
    {
        var (code, output) = Run("mount", "-o", "remount,ro", Path);
        Skip.If(code != 0, $"cannot remount read-only: {output.Trim()}");
    }

    /// <summary>Deletes the filler file.</summary>
    public void FreeSpace() => File.Delete(Filler);

    public void Dispose()
    {
        Run("umount", "-l", Path);
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }

    private static (int Code, string Output) Run(string program, params string[] arguments)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments) info.ArgumentList.Add(argument);
        try
        {
            using var process = Process.Start(info)!;
            string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
