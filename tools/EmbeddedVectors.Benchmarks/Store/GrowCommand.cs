using System.CommandLine;
using EmbeddedVectors.Tools;

namespace EmbeddedVectors.Benchmarks.Store;

/// <summary>
/// <c>store grow</c>: does appending keep search fast? Store A is trained on the whole public base, gets its first
/// <c>--first</c> rows, is flushed (sealed) and closed, then reopened and given the remaining rows, which stay in
/// the write buffer (fewer than the seal threshold). Store B has the same training and all rows at once, flushed.
/// Both are measured at each nprobe × rerank: recall@10 against the ground truth, and single-query QPS (one
/// query at a time on this thread; passes over the 1,000 queries for at least <c>--min-seconds</c>), in
/// <c>--rounds</c> alternating rounds. Then A is flushed too (two segments) and measured again.
/// Run it under <c>taskset -c 1</c> for single-core figures.
/// </summary>
internal sealed class GrowCommand : StoreBenchCommand
{
    private readonly Option<string?> _work = StoreBench.Options.String("work", "Working directory (default /tmp/evbench/grow).", "DIR");
    private readonly Option<int> _first = StoreBench.Options.Int("first", "Rows of the grown store before it is reopened.", 40_000, min: 1);
    private readonly Option<int[]> _nprobes = StoreBench.Options.IntList("nprobe", "The nprobe values to measure.", [8, 16, 32], min: 1);
    private readonly Option<int[]> _reranks = StoreBench.Options.IntList("rerank", "The re-rank depths to measure.", [0, 100], min: 0);
    private readonly Option<int> _k = StoreBench.K();
    private readonly Option<double> _minSeconds = StoreBench.Options.Double("min-seconds", "Seconds of queries a measurement at least.", 1.0);
    private readonly Option<int> _rounds = StoreBench.Options.Int("rounds", "Alternating rounds.", 3, min: 1);
    private readonly Option<bool> _keep = OptionBuilder.Flag("keep", "Keep the two stores.");

    public GrowCommand()
        : base("grow", "QPS and recall@10 of a store grown by appends against one built at once", withData: true)
    {
        foreach (var option in new Option[] { _work, _first, _nprobes, _reranks, _k, _minSeconds, _rounds, _keep }) Add(option);
    }

    protected override BenchOutput Execute(ParseResult args)
    {
        string work = Path.GetFullPath(args.GetValue(_work) ?? "/tmp/evbench/grow");
        int firstRows = args.GetValue(_first);
        int[] nprobes = args.GetValue(_nprobes)!;
        int[] reranks = args.GetValue(_reranks)!;
        int k = args.GetValue(_k);
        double minSeconds = args.GetValue(_minSeconds);
        int rounds = args.GetValue(_rounds);
        bool keep = args.GetValue(_keep);
        var data = Dataset.Load(DataDirectory(args), withBase: true, withQueries: true, withTruth: true);
        if (firstRows >= data.BaseRows) throw new UsageException($"--first must be below the base's {data.BaseRows} rows.");

        var output = new BenchOutput("grow");
        output.Parameters["work"] = work;
        output.Parameters["first"] = firstRows;
        output.Parameters["appended"] = data.BaseRows - firstRows;
        output.Parameters["k"] = k;
        output.Parameters["min_seconds"] = minSeconds;
        output.Parameters["rounds"] = rounds;

        string pathA = Path.Combine(work, "grown"), pathB = Path.Combine(work, "at-once");
        StoreFiles.DeleteIfExists(pathA);
        StoreFiles.DeleteIfExists(pathB);
        using (var initial = Build(pathA, data, 0, firstRows)) initial.Flush();
        var storeA = EmbeddedVectorStore.Open(pathA);
        var storeB = Build(pathB, data, 0, data.BaseRows);
        try
        {
            Add(storeA, data, firstRows, data.BaseRows);
            storeB.Flush();
            var shapes = output.Table("Stores", "store", "count", "segments", "sealed", "buffered");
            Describe(shapes, "A (grown, appended rows buffered)", storeA);
            Describe(shapes, "B (built at once)", storeB);

            var table = output.Table("Single-query QPS and recall@10: A (appended) vs B (at once)", "rerank", "nprobe",
                "recall A", "recall B", "QPS A", "QPS B", "A/B", "A/B min", "A/B max");
            var results = Compare(table, storeA, storeB, data, nprobes, reranks, k, minSeconds, rounds);

            storeA.Flush();
            Describe(shapes, "A after Flush (appended rows sealed)", storeA);
            var sealedTable = output.Table("Single-query QPS and recall@10: A after Flush (two segments) vs B", "rerank", "nprobe",
                "recall A", "recall B", "QPS A", "QPS B", "A/B", "A/B min", "A/B max");
            Compare(sealedTable, storeA, storeB, data, nprobes, reranks, k, minSeconds, rounds);
            output.Parameters["worst_buffered_ratio"] = results.Min();
        }
        finally
        {
            storeA.Dispose();
            storeB.Dispose();
            if (!keep)
            {
                StoreFiles.DeleteIfExists(pathA);
                StoreFiles.DeleteIfExists(pathB);
            }
        }
        return output;
    }

    /// <summary>
    /// Per setting, <paramref name="rounds"/> rounds of one A and one B measurement (order alternating A B, B A, …);
    /// QPS is the median over rounds, A/B the median of the rounds' ratios (neighbouring measurements share the
    /// machine's load, so their ratio is steadier than either figure). Returns the A/B ratios.
    /// </summary>
    private static List<double> Compare(BenchTable table, EmbeddedVectorStore a, EmbeddedVectorStore b, Dataset data,
        int[] nprobes, int[] reranks, int k, double minSeconds, int rounds)
    {
        var ratios = new List<double>();
        foreach (int rerank in reranks)
        {
            foreach (int nprobe in nprobes)
            {
                var options = new StoreSearchOptions { NProbe = nprobe, Rerank = rerank };
                var qpsA = new List<double>();
                var qpsB = new List<double>();
                var roundRatios = new List<double>();
                double recallA = 0, recallB = 0;
                for (int r = 0; r < rounds; r++)
                {
                    var first = r % 2 == 0 ? a : b;
                    var one = QueryRunner.Throughput(first, data, k, options, minSeconds);
                    var two = QueryRunner.Throughput(first == a ? b : a, data, k, options, minSeconds);
                    var (ra, rb) = first == a ? (one, two) : (two, one);
                    qpsA.Add(ra.Qps);
                    qpsB.Add(rb.Qps);
                    roundRatios.Add(ra.Qps / rb.Qps);
                    recallA = data.RecallAtK(ra.Ids, data.QueryCount, k);
                    recallB = data.RecallAtK(rb.Ids, data.QueryCount, k);
                }
                double ratio = Stats.Median(roundRatios);
                ratios.Add(ratio);
                table.Add(rerank, nprobe, recallA, recallB, Stats.Median(qpsA), Stats.Median(qpsB), ratio, roundRatios.Min(), roundRatios.Max());
            }
        }
        return ratios;
    }

    private static EmbeddedVectorStore Build(string path, Dataset data, int from, int to)
    {
        var store = EmbeddedVectorStore.Create(path, StoreBench.StoreOptions(data.Dimension));
        try
        {
            store.Train(data.Base);
            Add(store, data, from, to);
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>Adds base rows [from, to) with ids = row numbers, 10,000 at a time, committing after each batch.</summary>
    private static void Add(EmbeddedVectorStore store, Dataset data, int from, int to)
    {
        const int batch = 10_000;
        for (int first = from; first < to; first += batch)
        {
            int count = Math.Min(batch, to - first);
            var ids = Enumerable.Range(first, count).Select(i => (long)i).ToArray();
            var payloads = ids.Select(Payloads.Row).ToArray();
            store.AddRange(ids, data.Base.AsSpan(first * data.Dimension, count * data.Dimension), payloads);
            store.Commit();
        }
    }

    private static void Describe(BenchTable table, string name, EmbeddedVectorStore store)
    {
        var info = store.GetInfo();
        table.Add(name, info.Count, info.Segments, info.SealedEntries, info.BufferedEntries);
    }
}
