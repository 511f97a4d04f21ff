using System.CommandLine;
using EmbeddedVectors.Tools;

namespace EmbeddedVectors.Benchmarks.Store;

/// <summary>
/// <c>store rss --dir DIR</c>: the process's anonymous and file-backed resident memory (RssAnon, RssFile from
/// /proc/self/status) before the open, after it, and after 1,000 and 10,000 single queries (the public queries,
/// cycled). File-backed pages are the mapped segments and can be dropped by the kernel at will; anonymous memory
/// is what the store really costs, so it should not depend on how many vectors the store holds.
/// </summary>
internal sealed class RssCommand : StoreBenchCommand
{
    private readonly Option<string?> _dir = StoreBench.Dir();
    private readonly Option<bool> _readOnly = StoreBench.ReadOnly();
    private readonly Option<int[]> _queries = StoreBench.Options.IntList("queries", "Query counts at which memory is read.", [1_000, 10_000], min: 1);
    private readonly Option<int> _nprobe = StoreBench.NProbe();
    private readonly Option<int> _rerank = StoreBench.Rerank();
    private readonly Option<int> _k = StoreBench.K();

    public RssCommand()
        : base("rss", "RssAnon / RssFile after open and after single queries", withData: true)
    {
        foreach (var option in new Option[] { _dir, _readOnly, _queries, _nprobe, _rerank, _k }) Add(option);
    }

    protected override BenchOutput Execute(ParseResult args)
    {
        string directory = Path.GetFullPath(args.GetValue(_dir)!);
        bool readOnly = args.GetValue(_readOnly);
        int[] checkpoints = args.GetValue(_queries)!;
        int nprobe = args.GetValue(_nprobe);
        int rerank = args.GetValue(_rerank);
        int k = args.GetValue(_k);
        var data = Dataset.Load(DataDirectory(args), withBase: false, withQueries: true, withTruth: false);

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
