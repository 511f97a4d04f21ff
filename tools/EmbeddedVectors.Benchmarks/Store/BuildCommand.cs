using System.CommandLine;
using System.Diagnostics;
using EmbeddedVectors.Tools;

namespace EmbeddedVectors.Benchmarks.Store;

/// <summary>
/// <c>store build --out DIR --scale N</c>: a store of N vectors (ids 0..N-1, payload <c>{"row":i}</c>) made of the
/// public base, repeated with small perturbations past its 60,629 rows. It is trained explicitly on the base,
/// then filled in batches with a commit after each, then disposed (which seals the last buffer). Rows are
/// generated a batch at a time, so the benchmark never holds more than one batch beyond the base itself.
/// </summary>
internal sealed class BuildCommand : StoreBenchCommand
{
    private readonly Option<string?> _out = StoreBench.Options.Required("out", "The store to build.", "DIR");
    private readonly Option<int> _scale = StoreBench.Options.Int("scale", "Vectors in the store (required, e.g. 100000 or 1000000).", 0, min: 1, showDefault: false);
    private readonly Option<int> _batch = StoreBench.Options.Int("batch", "Rows an AddRange, with a commit after each.", 10_000, min: 1);
    private readonly Option<double> _sigma = StoreBench.Options.Double("sigma", "Noise added to the repeated rows.", 0.01);
    private readonly Option<bool> _force = OptionBuilder.Flag("force", "Replace a non-empty --out directory.");

    public BuildCommand()
        : base("build", "builds a store of N vectors from the public base (rows past 60,629 perturbed), trained on the base", withData: true)
    {
        foreach (var option in new Option[] { _out, _scale, _batch, _sigma, _force }) Add(option);
    }

    protected override BenchOutput Execute(ParseResult args)
    {
        string directory = Path.GetFullPath(args.GetValue(_out)!);
        int scale = args.GetValue(_scale);
        if (scale == 0) throw new UsageException("--scale is required (e.g. 100000 or 1000000).");
        int batch = args.GetValue(_batch);
        double sigma = args.GetValue(_sigma);
        bool force = args.GetValue(_force);
        string dataDirectory = DataDirectory(args);

        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
        {
            if (!force) throw new UsageException($"{directory} is not empty; pass --force to replace it.");
            Directory.Delete(directory, recursive: true);
        }
        var data = Dataset.Load(dataDirectory, withBase: true, withQueries: false, withTruth: false);
        var output = new BenchOutput("build");
        output.Parameters["dir"] = directory;
        output.Parameters["scale"] = scale;
        output.Parameters["batch"] = batch;
        output.Parameters["sigma"] = sigma;
        output.Parameters["base_rows"] = data.BaseRows;

        var total = Stopwatch.StartNew();
        long createTicks, trainTicks, addTicks = 0, commitTicks = 0, generateTicks = 0, disposeTicks;
        StoreInfo info;
        var store = EmbeddedVectorStore.Create(directory, StoreBench.StoreOptions(data.Dimension));
        createTicks = total.ElapsedTicks;
        try
        {
            long start = Stopwatch.GetTimestamp();
            store.Train(data.Base);
            trainTicks = Stopwatch.GetTimestamp() - start;

            var batchSeconds = new List<(double Seconds, bool Sealed, long First)>();
            var vectors = new float[batch * data.Dimension];
            var ids = new long[batch];
            var payloads = new byte[batch][];
            for (long first = 0; first < scale; first += batch)
            {
                int count = (int)Math.Min(batch, scale - first);
                start = Stopwatch.GetTimestamp();
                ScaledRows.Fill(data, first, count, vectors, sigma);
                for (int i = 0; i < count; i++)
                {
                    ids[i] = first + i;
                    payloads[i] = Payloads.Row(first + i);
                }
                int segmentsBefore = store.GetInfo().Segments;
                long added = Stopwatch.GetTimestamp();
                generateTicks += added - start;
                store.AddRange(ids.AsSpan(0, count), vectors.AsSpan(0, count * data.Dimension), count == batch ? payloads : payloads[..count]);
                long committed = Stopwatch.GetTimestamp();
                addTicks += committed - added;
                batchSeconds.Add(((committed - added) / (double)Stopwatch.Frequency, store.GetInfo().Segments > segmentsBefore, first));
                store.Commit();
                commitTicks += Stopwatch.GetTimestamp() - committed;
                if ((first / batch) % 10 == 9) Console.Error.Write($"\r{first + count:N0} / {scale:N0}");
            }
            Console.Error.WriteLine();
            info = store.GetInfo();
            BatchTable(output, batchSeconds, scale);
        }
        finally
        {
            long start = Stopwatch.GetTimestamp();
            store.Dispose();
            disposeTicks = Stopwatch.GetTimestamp() - start;
        }
        double totalSeconds = total.Elapsed.TotalSeconds;

        double ingestSeconds = (addTicks + commitTicks + disposeTicks) / (double)Stopwatch.Frequency;
        var phases = output.Table("Build phases", "phase", "seconds", "vectors/s");
        phases.Add("create", Stats.Ms(createTicks) / 1000, double.NaN);
        phases.Add("train (60,629 base rows)", trainTicks / (double)Stopwatch.Frequency, double.NaN);
        phases.Add("generate rows (not store time)", generateTicks / (double)Stopwatch.Frequency, double.NaN);
        phases.Add("AddRange", addTicks / (double)Stopwatch.Frequency, scale * (double)Stopwatch.Frequency / addTicks);
        phases.Add("Commit (one per batch)", commitTicks / (double)Stopwatch.Frequency, double.NaN);
        phases.Add("Dispose (seals the rest)", disposeTicks / (double)Stopwatch.Frequency, double.NaN);
        phases.Add("ingest = add + commit + dispose", ingestSeconds, scale / ingestSeconds);
        phases.Add("total wall (incl. train, generation)", totalSeconds, scale / totalSeconds);

        var files = output.Table("Store on disk", "kind", "files", "bytes", "bytes/vector");
        foreach (var (kind, count, bytes) in StoreFiles.ByKind(directory)) files.Add(kind, count, bytes, bytes / (double)scale);
        long totalBytes = StoreFiles.TotalBytes(directory);
        files.Add("total", StoreFiles.All(directory).Count(), totalBytes, totalBytes / (double)scale);

        var shape = output.Table("Store", "count", "segments before dispose", "sealed before dispose", "buffered before dispose", "peak RSS MB");
        shape.Add(info.Count, info.Segments, info.SealedEntries, info.BufferedEntries, ProcStatus.Kb("VmHWM") / 1024.0);
        return output;
    }

    /// <summary>AddRange time a batch: with and without a seal inside, and early against late in the build.</summary>
    private static void BatchTable(BenchOutput output, List<(double Seconds, bool Sealed, long First)> batches, long scale)
    {
        var table = output.Table("AddRange time a batch (s)", "batches", "count", "median", "min", "max");
        void Row(string name, IEnumerable<(double Seconds, bool Sealed, long First)> rows)
        {
            var values = rows.Select(b => b.Seconds).ToList();
            if (values.Count > 0) table.Add(name, values.Count, Stats.Median(values), values.Min(), values.Max());
        }
        Row("without a seal", batches.Where(b => !b.Sealed));
        Row("with a seal inside", batches.Where(b => b.Sealed));
        Row("without a seal, first quarter of the rows", batches.Where(b => !b.Sealed && b.First < scale / 4));
        Row("without a seal, last quarter of the rows", batches.Where(b => !b.Sealed && b.First >= scale - scale / 4));
    }
}
