namespace EmbeddedVectors.Benchmarks.Store;

/// <summary>
/// <c>store rss --dir DIR</c>: the process's anonymous and file-backed resident memory (RssAnon, RssFile from
/// /proc/self/status) before the open, after it, and after 1,000 and 10,000 single queries (the public queries,
/// cycled). File-backed pages are the mapped segments and can be dropped by the kernel at will; anonymous memory
/// is what the store really costs, so it should not depend on how many vectors the store holds.
/// </summary>
internal static class RssCommand
{
    public static BenchOutput Run(BenchArgs args)
    {
        string directory = Path.GetFullPath(args.Required("dir"));
        bool readOnly = args.Flag("read-only");
        int[] checkpoints = args.IntList("queries", [1_000, 10_000], min: 1);
        int nprobe = args.Int("nprobe", 16, min: 1);
        int rerank = args.Int("rerank", 100, min: 0);
        int k = args.Int("k", 10, min: 1);
        var data = Dataset.Load(StoreBench.DataDirectory(args), withBase: false, withQueries: true, withTruth: false);
        args.RejectUnknown();

        var output = new BenchOutput("rss");
        output.Parameters["dir"] = directory;
        output.Parameters["mode"] = readOnly ? "read-only" : "writable";
        output.Parameters["nprobe"] = nprobe;
        output.Parameters["rerank"] = rerank;
        output.Parameters["k"] = k;
        var table = output.Table("Resident memory (MB)", "point", "RssAnon", "RssFile", "VmRSS", "GC heap", "anon - before open", "anon - after open");

        GC.Collect();
        GC.WaitForPendingFinalizers();
        long anonBefore = ProcStatus.Kb("RssAnon");
        Snapshot(table, "before open (queries loaded)", anonBefore, 0);
        using var store = EmbeddedVectorStore.Open(directory, new EmbeddedVectorStoreOptions { ReadOnly = readOnly });
        long anonAtOpen = ProcStatus.Kb("RssAnon");
        var info = store.GetInfo();
        output.Parameters["count"] = info.Count;
        output.Parameters["segments"] = info.Segments;
        Snapshot(table, "after open", anonBefore, anonAtOpen);

        var options = new StoreSearchOptions { NProbe = nprobe, Rerank = rerank };
        Span<long> ids = stackalloc long[k];
        Span<float> distances = stackalloc float[k];
        int done = 0;
        foreach (int checkpoint in checkpoints.Order())
        {
            for (; done < checkpoint; done++) store.Search(data.Query(done), ids, distances, options);
            Snapshot(table, $"after {checkpoint:N0} queries", anonBefore, anonAtOpen);
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Snapshot(table, "after a full GC", anonBefore, anonAtOpen);
        return output;
    }

    /// <summary>One row; the anonymous-memory differences are against the figures before and right after the open (0: not yet).</summary>
    private static void Snapshot(BenchTable table, string point, long anonBefore, long anonAtOpen)
    {
        long anon = ProcStatus.Kb("RssAnon");
        table.Add(point, anon / 1024.0, ProcStatus.Kb("RssFile") / 1024.0, ProcStatus.Kb("VmRSS") / 1024.0,
            GC.GetTotalMemory(false) / 1048576.0, (anon - anonBefore) / 1024.0, anonAtOpen == 0 ? double.NaN : (anon - anonAtOpen) / 1024.0);
    }
}
