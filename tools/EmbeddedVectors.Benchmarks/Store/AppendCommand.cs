using System.CommandLine;
using System.Diagnostics;
using EmbeddedVectors.Tools;

namespace EmbeddedVectors.Benchmarks.Store;

/// <summary>
/// <c>store append</c>: append throughput. For each <c>--commit-every</c> value, a fresh store is trained on the
/// public base (not timed), then the 60,629 base vectors are added in <c>AddRange</c> batches of <c>--batch</c> rows
/// with a payload of about <c>--payload-bytes</c> bytes of JSON and a Commit after every <c>commit-every</c> rows
/// (and at the end). The rate counts AddRange and Commit; the final Dispose, which seals the buffer into a
/// segment, is reported apart and in a second rate.
/// </summary>
internal sealed class AppendCommand : StoreBenchCommand
{
    private readonly Option<string?> _work = StoreBench.Options.String("work", "Working directory (default /tmp/evbench/append).", "DIR");
    private readonly Option<int[]> _commitEvery = StoreBench.Options.IntList("commit-every", "Rows between commits; one run each.", [1_000, 100_000], min: 1);
    private readonly Option<int> _batch = StoreBench.Options.Int("batch", "Rows an AddRange.", 1_000, min: 1);
    private readonly Option<int> _payloadBytes = StoreBench.Options.Int("payload-bytes", "About this many bytes of JSON payload a row.", 100, min: 0);

    public AppendCommand()
        : base("append", "append throughput of the 60,629 base vectors into a fresh trained store", withData: true)
    {
        foreach (var option in new Option[] { _work, _commitEvery, _batch, _payloadBytes }) Add(option);
    }

    protected override BenchOutput Execute(ParseResult args)
    {
        string work = Path.GetFullPath(args.GetValue(_work) ?? "/tmp/evbench/append");
        int[] commitEvery = args.GetValue(_commitEvery)!;
        int batch = args.GetValue(_batch);
        int payloadBytes = args.GetValue(_payloadBytes);
        var data = Dataset.Load(DataDirectory(args), withBase: true, withQueries: false, withTruth: false);

        var output = new BenchOutput("append");
        output.Parameters["work"] = work;
        output.Parameters["vectors"] = data.BaseRows;
        output.Parameters["batch"] = batch;
        output.Parameters["payload_bytes"] = Payloads.Padded(0, payloadBytes).Length;
        var table = output.Table("Append throughput (60,629 vectors into a trained store)", "commit every", "commits", "add s", "commit s",
            "vectors/s (add+commit)", "dispose/seal s", "vectors/s (incl. seal)", "train s (not counted)");

        var payloads = Enumerable.Range(0, data.BaseRows).Select(i => Payloads.Padded(i, payloadBytes)).ToArray();
        var ids = Enumerable.Range(0, data.BaseRows).Select(i => (long)i).ToArray();
        foreach (int every in commitEvery)
        {
            string directory = Path.Combine(work, $"commit-{every}");
            StoreFiles.DeleteIfExists(directory);
            var store = EmbeddedVectorStore.Create(directory, StoreBench.StoreOptions(data.Dimension));
            long addTicks = 0, commitTicks = 0, disposeTicks;
            int commits = 0;
            double trainSeconds;
            try
            {
                var clock = Stopwatch.StartNew();
                store.Train(data.Base);
                trainSeconds = clock.Elapsed.TotalSeconds;
                int sinceCommit = 0;
                for (int first = 0; first < data.BaseRows; first += batch)
                {
                    int count = Math.Min(batch, data.BaseRows - first);
                    long start = Stopwatch.GetTimestamp();
                    store.AddRange(ids.AsSpan(first, count), data.Base.AsSpan(first * data.Dimension, count * data.Dimension), payloads[first..(first + count)]);
                    long added = Stopwatch.GetTimestamp();
                    addTicks += added - start;
                    sinceCommit += count;
                    if (sinceCommit >= every || first + count == data.BaseRows)
                    {
                        store.Commit();
                        commitTicks += Stopwatch.GetTimestamp() - added;
                        commits++;
                        sinceCommit = 0;
                    }
                }
            }
            finally
            {
                long start = Stopwatch.GetTimestamp();
                store.Dispose();
                disposeTicks = Stopwatch.GetTimestamp() - start;
            }
            StoreFiles.DeleteIfExists(directory);
            double add = addTicks / (double)Stopwatch.Frequency, commit = commitTicks / (double)Stopwatch.Frequency;
            double seal = disposeTicks / (double)Stopwatch.Frequency;
            table.Add(every, commits, add, commit, data.BaseRows / (add + commit), seal, data.BaseRows / (add + commit + seal), trainSeconds);
        }
        return output;
    }
}
