using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace EmbeddedVectors.Tests.Store;

/// <summary>
/// The small CI version of issue 8's memory-pressure runs: the public set in a store of about 185 MB (float32 rows
/// and the log), searched by <c>ev bench</c> in a memory cgroup of 48 MiB that counts the page cache
/// (<c>../shared/tools/memlimit</c>), so the store's pages come and go as for a store larger than RAM. Skipped, with
/// the reason, where memory cgroups cannot be used (not Linux, not root, no memory controller, no memlimit).
/// </summary>
public sealed class MemoryLimitTests
{
    private const long LimitBytes = 48L << 20;

    [SkippableFact]
    public void A_store_several_times_its_memory_limit_answers_from_disk_with_full_recall()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "memory cgroups are a Linux feature");
        Skip.IfNot(Environment.IsPrivilegedProcess, "creating a memory cgroup needs root");
        Skip.IfNot(Directory.Exists("/sys/fs/cgroup/memory") || (File.Exists("/sys/fs/cgroup/cgroup.controllers")
            && File.ReadAllText("/sys/fs/cgroup/cgroup.controllers").Split(' ', '\n').Contains("memory")), "no memory cgroup controller on this machine");
        string? memlimit = TestData.FindFileUp(Path.Combine("shared", "tools", "memlimit"));
        Skip.If(memlimit == null, "../shared/tools/memlimit is not beside the repository");

        using var dir = new TempStoreDirectory();
        var data = RealData.Instance;
        using (var store = EmbeddedVectorStore.Create(dir.Path, new EmbeddedVectorStoreOptions
        {
            Dimension = data.Dimension, NList = 256, M = 48, Rows = RowEncoding.Float32,
            KMeans = new EmbeddedVectors.Training.KMeansOptions { Iterations = 10 },
        }))
        {
            for (int from = 0; from < data.Count; from += 10_000) RealRows.Add(store, from, Math.Min(10_000, data.Count - from), row => $"{{\"row\":{row}}}");
        }
        long storeBytes = new DirectoryInfo(dir.Path).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        Assert.True(storeBytes > 2 * LimitBytes, $"the store ({storeBytes} bytes) should be well past the limit");
        // Pages this process wrote are charged to its own cgroup: drop them, so the child's reads are its own.
        PageCache.Evict(dir.Path);

        string report = Path.Combine(dir.Path, "..", Path.GetFileName(dir.Path) + "-bench.json");
        var info = new ProcessStartInfo(memlimit!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in new[] { $"{LimitBytes >> 20}M", "dotnet", Path.Combine(AppContext.BaseDirectory, "ev.dll"), "bench", dir.Path,
            "--queries", TestData.RequireSharedData("query.fvecs"), "--gt", TestData.RequireSharedData("groundtruth.ivecs"),
            "--nprobe", "32", "--rerank", "100", "--json", report })
            info.ArgumentList.Add(arg);
        try
        {
            using var child = Process.Start(info)!;
            var output = child.StandardOutput.ReadToEndAsync();
            string errors = child.StandardError.ReadToEnd();
            child.WaitForExit();
            Assert.True(child.ExitCode == 0, $"ev bench under memlimit exited {child.ExitCode}: {errors} {output.Result}");
            using var json = JsonDocument.Parse(File.ReadAllText(report));
            var row = json.RootElement.GetProperty("results")[0];
            // 0.957 measured (1,000 queries); the same settings in the page cache give the same recall.
            Assert.True(row.GetProperty("recall_at_10").GetDouble() >= 0.93, json.RootElement.ToString());
            Assert.True(json.RootElement.GetProperty("rss_anon_bytes").GetInt64() < LimitBytes, json.RootElement.ToString());
            // cgroup v1 counts how often the limit pushed back: the store's pages were evicted under it.
            var throttled = System.Text.RegularExpressions.Regex.Match(errors, @"throttled (\d+) times");
            if (throttled.Success) Assert.True(long.Parse(throttled.Groups[1].Value) > 0, errors);
        }
        finally
        {
            File.Delete(report);
        }
    }

    /// <summary>Drops a directory's files from the page cache (Linux: fsync, then posix_fadvise DONTNEED).</summary>
    private static class PageCache
    {
        [DllImport("libc", SetLastError = true)]
        private static extern int posix_fadvise(int fd, long offset, long length, int advice);

        [DllImport("libc", SetLastError = true)]
        private static extern int fsync(int fd);

        public static void Evict(string directory)
        {
            foreach (var file in new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories))
            {
                using SafeFileHandle handle = File.OpenHandle(file.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                int fd = (int)handle.DangerousGetHandle();
                Assert.Equal(0, fsync(fd));
                Assert.Equal(0, posix_fadvise(fd, 0, 0, 4)); // POSIX_FADV_DONTNEED
            }
        }
    }
}
