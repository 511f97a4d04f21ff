using System.Diagnostics;

namespace EmbeddedVectors.Tests.Store;

/// <summary>The CrashChild writer (tests/EmbeddedVectors.CrashChild): appends, deletes and commits until killed, printing "committed N".</summary>
internal static class CrashChildProcess
{
    /// <summary>Starts the child on <paramref name="directory"/>, adding ids from <paramref name="firstId"/> on; its output and errors are redirected.</summary>
    public static Process Start(string directory, long firstId)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "EmbeddedVectors.CrashChild.dll"));
        info.ArgumentList.Add(directory);
        info.ArgumentList.Add(firstId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Process.Start(info)!;
    }
}
