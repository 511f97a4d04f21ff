using System.CommandLine;
using System.Diagnostics;
using EmbeddedVectors.Tools;

namespace EmbeddedVectors.Benchmarks.Store;

/// <summary>
/// <c>store build --out DIR --scale N</c>: a store of N vectors (ids 0..N-1, payload <c>{"row":i}</c>) made of the
/// public base, repeated with small perturbations past its 60,629 rows. It is trained explicitly on the base (or on
/// the first <c>--train-rows</c> generated rows), then filled in batches with a commit after each, then disposed
/// (which seals the last buffer). Rows are generated a batch at a time, so the benchmark never holds more than one
/// batch beyond the base itself. <c>--append</c> instead opens the existing store and adds rows
/// <c>--start</c>..<c>--start</c>+N−1 to it (the append benchmark of a big store).
/// </summary>
internal sealed class BuildCommand : StoreBenchCommand
{
    private readonly Option<string?> _out = StoreBench.Options.Required("out", "The store to build.", "DIR");
    private readonly Option<int> _scale = StoreBench.Options.Int("scale", "Vectors in the store (required, e.g. 100000 or 1000000).", 0, min: 1, showDefault: false);
    private readonly Option<int> _batch = StoreBench.Options.Int("batch", "Rows an AddRange, with a commit after each.", 10_000, min: 1);
    private readonly Option<double> _sigma = StoreBench.Options.Double("sigma", "Noise added to the repeated rows.", 0.01);
    private readonly Option<bool> _force = OptionBuilder.Flag("force", "Replace a non-empty --out directory.");
    private readonly Option<int> _nlist = StoreBench.Options.Int("nlist", "Cells of the new store.", 1024, min: 1);
    private readonly Option<int> _m = StoreBench.Options.Int("m", "PQ sub-quantizers of the new store.", 48, min: 1);
    private readonly Option<string?> _rows = StoreBench.Options.String("rows", "Re-rank rows of the new store (default: the store's default).", "f32|f16|i8");
    private readonly Option<int> _trainRows = StoreBench.Options.Int("train-rows", "Train on the first N generated rows instead of the public base (0: the base).", 0, min: 0);
    private readonly Option<bool> _append = OptionBuilder.Flag("append", "Open the existing store at --out and add rows --start.. to it.");
    private readonly Option<long> _start = StoreBench.Options.Long("start", "With --append: the first row (and id) to add.", 0, min: 0);

    public BuildCommand()
        : base("build", "builds a store of N vectors from the public base (rows past 60,629 perturbed), trained on the base", withData: true)
    {
        foreach (var option in new Option[] { _out, _scale, _batch, _sigma, _force, _nlist, _m, _rows, _trainRows, _append, _start }) Add(option);
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

        bool append = args.GetValue(_append);
        long startRow = append ? args.GetValue(_start) : 0;
        int trainRows = args.GetValue(_trainRows);
        if (!append && Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
        {
            if (!force) throw new UsageException($"{directory} is not empty; pass --force to replace it.");
            Directory.Delete(directory, recursive: true);
        }
        var data = Dataset.Load(dataDirectory, withBase: true, withQueries: false, withTruth: false);
        var output = new BenchOutput(append ? "append to a store" : "build");
        output.Parameters["dir"] = directory;
        output.Parameters["scale"] = scale;
        output.Parameters["batch"] = batch;
        output.Parameters["sigma"] = sigma;
        output.Parameters["base_rows"] = data.BaseRows;
        if (append) output.Parameters["start"] = startRow;

        var total = Stopwatch.StartNew();
        long createTicks, trainTicks = 0, addTicks = 0, commitTicks = 0, generateTicks = 0, disposeTicks;
        StoreInfo info;
        var options = StoreBench.StoreOptions(data.Dimension) with { NList = args.GetValue(_nlist), M = args.GetValue(_m) };
        if (args.GetValue(_rows) is { } rows) options = options with { Rows = ParseRows(rows) };
        var store = append ? EmbeddedVectorStore.Open(directory) : EmbeddedVectorStore.Create(directory, options);
        createTicks = total.ElapsedTicks;
        output.Parameters["nlist"] = store.GetInfo().NList;
        try
        {
            long start = Stopwatch.GetTimestamp();
            if (!append && trainRows > 0)
            {
                var sample = new float[(long)trainRows * data.Dimension];
                ScaledRows.Fill(data, 0, trainRows, sample, sigma);
                start = Stopwatch.GetTimestamp();
                store.Train(sample);
            }
            else if (!append) store.Train(data.Base);
            else if (!store.IsTrained) throw new UsageException($"{directory} is not trained; --append measures appends into a trained store.");
            trainTicks = Stopwatch.GetTimestamp() - start;
            output.Parameters["train_rows"] = append ? 0 : trainRows > 0 ? trainRows : data.BaseRows;

            var batchSeconds = new List<(double Seconds, bool Sealed, long First)>();
            var vectors = new float[batch * data.Dimension];
            var ids = new long[batch];
            var payloads = new byte[batch][];
            for (long first = startRow; first < startRow + scale; first += batch)
            {
                int count = (int)Math.Min(batch, startRow + scale - first);
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
                if ((first / batch) % 10 == 9) Console.Error.Write($"\r{first + count - startRow:N0} / {scale:N0}");
            }
            Console.Error.WriteLine();
            info = store.GetInfo();
            BatchTable(output, batchSeconds, startRow, scale);
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
        phases.Add(append ? "open" : $"train ({output.Parameters["train_rows"]:N0} rows)", (append ? createTicks : trainTicks) / (double)Stopwatch.Frequency, double.NaN);
        phases.Add("generate rows (not store time)", generateTicks / (double)Stopwatch.Frequency, double.NaN);
        phases.Add("AddRange", addTicks / (double)Stopwatch.Frequency, scale * (double)Stopwatch.Frequency / addTicks);
        phases.Add("Commit (one per batch)", commitTicks / (double)Stopwatch.Frequency, double.NaN);
        phases.Add("Dispose (seals the rest)", disposeTicks / (double)Stopwatch.Frequency, double.NaN);
        phases.Add("ingest = add + commit + dispose", ingestSeconds, scale / ingestSeconds);
        phases.Add("total wall (incl. train, generation)", totalSeconds, scale / totalSeconds);

        var files = output.Table("Store on disk", "kind", "files", "bytes", "bytes/vector");
        foreach (var (kind, count, bytes) in StoreFiles.ByKind(directory)) files.Add(kind, count, bytes, bytes / (double)info.Count);
        long totalBytes = StoreFiles.TotalBytes(directory);
        files.Add("total", StoreFiles.All(directory).Count(), totalBytes, totalBytes / (double)info.Count);

        var shape = output.Table("Store", "count", "segments before dispose", "sealed before dispose", "buffered before dispose", "peak RSS MB");
        shape.Add(info.Count, info.Segments, info.SealedEntries, info.BufferedEntries, ProcStatus.Kb("VmHWM") / 1024.0);
        return output;
    }

    /// <summary>AddRange time a batch: with and without a seal inside, and early against late in the build.</summary>
    private static void BatchTable(BenchOutput output, List<(double Seconds, bool Sealed, long First)> batches, long startRow, long scale)
    {
        var table = output.Table("AddRange time a batch (s)", "batches", "count", "median", "min", "max");
        void Row(string name, IEnumerable<(double Seconds, bool Sealed, long First)> rows)
        {
            var values = rows.Select(b => b.Seconds).ToList();
            if (values.Count > 0) table.Add(name, values.Count, Stats.Median(values), values.Min(), values.Max());
        }
        Row("without a seal", batches.Where(b => !b.Sealed));
        Row("with a seal inside", batches.Where(b => b.Sealed));
        Row("without a seal, first quarter of the rows", batches.Where(b => !b.Sealed && b.First - startRow < scale / 4));
        Row("without a seal, last quarter of the rows", batches.Where(b => !b.Sealed && b.First - startRow >= scale - scale / 4));
    }

    private static RowEncoding ParseRows(string text)
    {
        try { return RowEncodingNames.Parse(text); }
        catch (ArgumentException) { throw new UsageException($"--rows '{text}': use f32, f16 or i8."); }
    }
}
