using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using EmbeddedVectors.IO;
using EmbeddedVectors.Tools;
using Spectre.Console;

namespace EmbeddedVectors.Cli.Commands;

/// <summary>
/// <c>ev add DIR --vectors FILE</c>: streams a vector file (with optional ids and JSON-lines payloads) into a store
/// in batches, training first when the store needs it and committing as it goes, so a killed run keeps what it
/// reported as committed.
/// </summary>
internal sealed class AddCommand : Command
{
    private const int BatchBytes = 8 << 20;
    private const long MaxTrainingBytes = 1L << 30;
    private const long MaxRecordBytes = (4L << 20) - 12;
    private const long RecordFramingMargin = 64;

    private readonly Argument<string?> _directory = EvOptions.StoreDirectory();
    private readonly Option<string?> _vectors = EvOptions.Build.String("vectors", "The vectors to add (.fvecs, .bvecs or .npy; any size); - reads standard input (give --format).", "FILE");
    private readonly Option<string?> _format = EvOptions.Build.String("format", "With --vectors -: the format of standard input.", "fvecs|bvecs|npy");
    private readonly Option<string?> _text = EvOptions.Build.String("text",
        "Text to embed (all-MiniLM-L6-v2, on this machine) and add, the text as the payload {\"text\": …}; - reads standard input, .gz is decompressed. The store must be 384-dimensional.", "FILE");
    private readonly Option<string?> _textFormat = EvOptions.Build.String("text-format",
        "lines: one document a line, line n gets id start + n - 1; tsv: ID<TAB>TEXT, a whole-number ID is the id, any other is kept as the payload's \"key\" and the line number gives the id; "
        + "auto (the default): tsv when the first non-blank line has a tab. Blank lines are skipped.", "auto|lines|tsv");
    private readonly Option<int> _threads = EvOptions.Build.Int("threads", "With --text: cores the model runs on (0: all).", 0, min: 0);
    private readonly Option<string?> _ids = EvOptions.Build.String("ids", "Row i gets the i-th id of this file (.ivecs of dimension 1, or a 1-D .npy).", "FILE");
    private readonly Option<long> _idStart = EvOptions.Build.Long("id-start", "Row i gets id start + i (default 0).", 0, showDefault: false);
    private readonly Option<string?> _payloads = EvOptions.Build.String("payloads", "Row i gets the i-th line of this file as its payload (each line must be JSON).", "FILE.jsonl");
    private readonly Option<int> _commitEvery = EvOptions.Build.Int("commit-every", "Entries between commits (and one at the end).", 10_000, min: 1);
    private readonly Option<long> _trainSize = EvOptions.Build.Long("train-size",
        "Rows of the file to train on when the store trains first (default min(rows, 256 × max(nlist, 256)), at most 1 GiB).", 0, min: 1, showDefault: false);

    public AddCommand()
        : base("add", "Streams the vectors in (any file size); row i gets id start+i, or the i-th id of --ids, and the i-th line of --payloads (each line must be JSON). "
            + "--text FILE embeds one document a line (or ID<TAB>TEXT) on this machine and adds it with its text as the payload. "
            + "Trains first on a sample of the file when the store is untrained and the file brings it to its training threshold. "
            + "Prints 'committed N' after every commit: what was committed survives a crash.")
    {
        Add(_directory);
        foreach (var option in new Option[] { _vectors, _format, _text, _textFormat, _threads, _ids, _idStart, _payloads, _commitEvery, _trainSize }) Add(option);
        SetAction(Run);
    }

    private int Run(ParseResult args)
    {
        string directory = args.Require(_directory, "the store directory (ev add DIR --vectors FILE)");
        string? textPath = args.GetValue(_text);
        if ((args.GetValue(_vectors) == null) == (textPath == null))
            throw new UserErrorException("Give --vectors FILE (- for standard input) or --text FILE, one of the two.");
        if (textPath != null || args.GetValue(_vectors) == "-") return RunStream(args, directory, textPath);
        if (args.Given(_format)) throw new UserErrorException("--format is for --vectors - (standard input); a file's format comes from its extension.");
        if (args.Given(_textFormat) || args.Given(_threads)) throw new UserErrorException("--text-format and --threads go with --text.");
        string vectorsPath = args.GetValue(_vectors)!;
        string? idsPath = args.GetValue(_ids);
        long? idStart = args.Given(_idStart) ? args.GetValue(_idStart) : null;
        string? payloadsPath = args.GetValue(_payloads);
        int commitEvery = args.GetValue(_commitEvery);
        long trainSize = args.Given(_trainSize) ? args.GetValue(_trainSize) : 0;
        if (idsPath != null && idStart != null) throw new UserErrorException("Give either --ids or --id-start, not both.");

        StoreSupport.RequireStore(directory);
        using var vectors = StoreSupport.OpenVectors(vectorsPath, "Vector file");
        using var ids = idsPath == null ? null : StoreSupport.OpenVectors(idsPath, "Id file");
        long rows = vectors.Count;
        if (ids != null)
        {
            if (ids.Dimension != 1)
                throw new UserErrorException($"{idsPath} has {ids.Dimension} values a row; an id file needs one id a row (an .ivecs of dimension 1, or a 1-D .npy).");
            if (ids.Count != rows)
                throw new UserErrorException($"{idsPath} holds {ids.Count:N0} ids but {vectorsPath} holds {rows:N0} vectors; they must match row for row.");
        }
        long firstId = idStart ?? 0;
        if (ids == null && rows > 0 && firstId > long.MaxValue - (rows - 1))
            throw new UserErrorException($"--id-start {firstId} + {rows:N0} rows overflows a 64-bit id.");

        using var store = StoreSupport.Open(directory, readOnly: false);
        if (vectors.Dimension != store.Dimension)
            throw new UserErrorException($"{vectorsPath} holds {vectors.Dimension}-dimensional vectors but the store at {directory} is {store.Dimension}-dimensional.");
        var fields = store.Fields;
        if (payloadsPath != null) CheckPayloads(payloadsPath, rows, vectorsPath, vectors.Dimension, fields);

        bool interactive = CliApp.Interactive;
        var info = store.GetInfo();
        Console.Out.WriteLine($"Adding {rows:N0} vectors ({vectors.Dimension}-d) from {vectorsPath} to {store.StorePath}"
            + (ids != null ? $", ids from {idsPath}" : rows > 0 ? $", ids {firstId}…{firstId + rows - 1}" : "")
            + (payloadsPath != null ? $", payloads from {payloadsPath}" : ""));
        if (rows == 0)
        {
            Console.Out.WriteLine("Nothing to add: the file has no rows.");
            return 0;
        }

        if (!store.IsTrained) TrainIfNeeded(store, info, vectors, trainSize, interactive);

        var clock = Stopwatch.StartNew();
        using var payloads = payloadsPath == null ? null : new LineReader(payloadsPath);
        var ingest = new Ingest(store, vectors, ids, firstId, payloads, commitEvery, fields);
        if (interactive)
        {
            // Ctrl+C ends the process (what was committed stays); give the terminal its cursor back first.
            Console.CancelKeyPress += (_, _) => AnsiConsole.Cursor.Show(true);
            AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(context =>
                {
                    var task = context.AddTask("adding", maxValue: rows);
                    ingest.Run(done => task.Value = done, line =>
                    {
                        AnsiConsole.Console.WriteLine(line);
                        Console.Out.Flush();
                    });
                });
        }
        else
        {
            var lastReport = Stopwatch.StartNew();
            ingest.Run(done =>
            {
                if (lastReport.Elapsed.TotalSeconds < 2 || done == rows) return;
                lastReport.Restart();
                Console.Out.WriteLine($"added {done:N0} of {rows:N0} ({100.0 * done / rows:F0}%)");
                Console.Out.Flush();
            }, line =>
            {
                Console.Out.WriteLine(line);
                Console.Out.Flush();
            });
        }
        Summarise(store, rows, "vectors", clock);
        if (payloads != null && payloads.ReadLine() != null)
            Console.Error.WriteLine($"ev: note: {payloadsPath} has more lines than the {rows:N0} vectors; the extra lines were ignored.");
        return 0;
    }

    /// <summary><c>--vectors -</c> and <c>--text</c>: a source read once, of unknown length (see <see cref="StreamIngest"/>).</summary>
    private int RunStream(ParseResult args, string directory, string? textPath)
    {
        foreach (var option in new Option[] { _ids, _payloads, _trainSize })
            if (args.Given(option))
                throw new UserErrorException($"{option.Name} goes with --vectors FILE; {(textPath != null ? "--text brings its own payloads and ids" : "standard input is read once, as it comes")}.");
        if (textPath != null && args.Given(_format)) throw new UserErrorException("--format is for --vectors -; --text takes --text-format.");
        long firstId = args.Given(_idStart) ? args.GetValue(_idStart) : 0;
        int commitEvery = args.GetValue(_commitEvery);
        StoreSupport.RequireStore(directory);
        using var store = StoreSupport.Open(directory, readOnly: false);
        var clock = Stopwatch.StartNew();
        long added;
        string what;
        if (textPath != null)
        {
            var format = TextDocuments.ParseFormat(args.GetValue(_textFormat));
            StreamIngest.RequireTextDimension(store);
            using var documents = TextDocuments.Open(textPath, format);
            Console.Out.WriteLine($"Embedding the documents of {documents.Name} with {EmbeddedVectors.Embeddings.MiniLmEmbeddingGenerator.ModelName} and adding them to {store.StorePath}");
            Console.Out.Flush();
            var generator = StreamIngest.Generator(args.GetValue(_threads));
            added = StreamIngest.AddText(store, documents, generator, firstId, commitEvery);
            what = "documents";
            string layout = documents.Format == TextFormat.Lines ? "one document a line"
                : documents.NumericIds == true ? "TSV, ids from the first column" : "TSV, the first column kept as \"key\"";
            Console.Out.WriteLine($"Read {documents.LineNumber:N0} lines ({layout}).");
        }
        else
        {
            var format = StreamIngest.ParseFormat(args.GetValue(_format));
            Console.Out.WriteLine($"Adding vectors from standard input ({format.ToString().ToLowerInvariant()}) to {store.StorePath}");
            Console.Out.Flush();
            using var input = CliApp.OpenStandardInput();
            added = StreamIngest.AddVectors(store, input, format, "standard input", firstId, commitEvery);
            what = "vectors";
        }
        Summarise(store, added, what, clock);
        return 0;
    }

    /// <summary>Seals what was added and prints the rate, the seal time and what the store holds now.</summary>
    private static void Summarise(EmbeddedVectorStore store, long rows, string what, Stopwatch clock)
    {
        double addSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        store.Flush();
        double flushSeconds = clock.Elapsed.TotalSeconds;
        var after = store.GetInfo();
        Console.Out.WriteLine($"Added {rows:N0} {what} in {addSeconds:F2} s ({rows / Math.Max(addSeconds, 1e-9):N0} {what}/s), sealed in {flushSeconds:F2} s.");
        Console.Out.WriteLine($"The store holds {after.Count:N0} entries in {after.Segments} segment{(after.Segments == 1 ? "" : "s")}, {StoreSupport.Bytes(after.BytesOnDisk)} on disk"
            + (after.Trained ? "." : $"; it is not trained yet (searches are exact until it has {after.TrainingThreshold:N0} entries)."));
    }

    /// <summary>
    /// Reads the payload file once before adding anything: every line must be JSON, there must be a line a vector,
    /// and the value of each declared field (the payload's top-level key of its name) must fit the field's type.
    /// </summary>
    internal static void CheckPayloads(string path, long rows, string vectorsPath, int dimension, IReadOnlyList<FieldDefinition> fields)
    {
        // A log record (framing, vector, payload) must fit in one 4 MiB log page; keep a margin for the framing.
        long maxPayload = MaxRecordBytes - 4L * dimension - RecordFramingMargin;
        if (Directory.Exists(path)) throw new UserErrorException($"Payload file {path} is a directory.");
        if (!File.Exists(path)) throw new UserErrorException($"Payload file not found: {path}");
        void Check()
        {
            using var reader = new LineReader(path);
            while (reader.LineNumber < rows && reader.ReadLine() is { } line)
            {
                // JSON is UTF-8 (RFC 8259); System.Text.Json checks a string's bytes only when the string is read.
                if (!System.Text.Unicode.Utf8.IsValid(line))
                    throw new UserErrorException($"{path}, line {reader.LineNumber}: not valid UTF-8 (JSON must be UTF-8). Nothing was added.");
                JsonDocument document;
                try
                {
                    document = JsonDocument.Parse(line);
                }
                catch (JsonException e)
                {
                    string problem = line.Length == 0 ? "the line is empty." : JsonProblem(e);
                    throw new UserErrorException($"{path}, line {reader.LineNumber}: not valid JSON: {problem} Nothing was added.");
                }
                using (document)
                {
                    try
                    {
                        FieldSupport.FromJson(document.RootElement, fields);
                    }
                    catch (UserErrorException e)
                    {
                        throw new UserErrorException($"{path}, line {reader.LineNumber}: {e.Message} Nothing was added.");
                    }
                }
                if (line.Length > maxPayload)
                    throw new UserErrorException($"{path}, line {reader.LineNumber}: a payload of {line.Length:N0} bytes is too large; beside a {dimension}-dimensional vector a payload can take at most {Math.Max(0, maxPayload):N0} bytes. Nothing was added.");
            }
            if (reader.LineNumber < rows)
                throw new UserErrorException($"{path} has {reader.LineNumber:N0} lines but {vectorsPath} holds {rows:N0} vectors; one payload line is needed a vector. Nothing was added.");
        }
        if (CliApp.Interactive) AnsiConsole.Status().Start($"Checking the payloads in {Markup.Escape(path)}…", _ => Check());
        else Check();
    }

    /// <summary>System.Text.Json's message without its " LineNumber: 0 | BytePositionInLine: 5." tail, with the byte instead.</summary>
    private static string JsonProblem(JsonException e)
    {
        string message = e.Message;
        int tail = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (tail >= 0) message = message[..tail];
        message = message.TrimEnd();
        if (!message.EndsWith('.')) message += ".";
        return e.BytePositionInLine is long position ? $"{message[..^1]} (at byte {position + 1})." : message;
    }

    private static void TrainIfNeeded(EmbeddedVectorStore store, StoreInfo info, VectorFileReader vectors, long trainSize, bool interactive)
    {
        long rows = vectors.Count;
        int threshold = info.TrainingThreshold;
        int minimum = Math.Max(256, info.NList);
        // Too few rows for a sample of their own: the store trains itself on its buffer when it reaches the threshold.
        if (info.Count + rows < threshold || rows < minimum) return;

        long wanted = trainSize > 0 ? trainSize : 256L * Math.Max(info.NList, 256);
        long byMemory = Math.Max(minimum, MaxTrainingBytes / (4L * vectors.Dimension));
        int sampleRows = (int)Math.Min(Math.Min(rows, wanted), Math.Min(byMemory, Array.MaxLength / vectors.Dimension));
        if (sampleRows < minimum)
            throw new UserErrorException($"--train-size {trainSize} is too small: training needs at least max(256, nlist) = {minimum} vectors.");

        string what = $"Training on {sampleRows:N0} of the {rows:N0} vectors (nlist {info.NList}, m {info.M})";
        var clock = Stopwatch.StartNew();
        void Train()
        {
            var (sample, count) = ReadSample(vectors, sampleRows);
            store.Train(sample.AsSpan(0, count * vectors.Dimension));
        }
        if (interactive) AnsiConsole.Status().Start(Markup.Escape(what) + "…", _ => Train());
        else
        {
            Console.Out.WriteLine(what + "…");
            Console.Out.Flush();
            Train();
        }
        Console.Out.WriteLine($"trained in {clock.Elapsed.TotalSeconds:F2} s");
        Console.Out.Flush();
    }

    /// <summary>
    /// Reads about <paramref name="sampleRows"/> rows spread evenly over the file, in short runs of consecutive rows
    /// (as many as one 64 KiB read brings) so that sampling a large file costs few reads. Leaves the reader at row 0.
    /// </summary>
    internal static (float[] Sample, int Count) ReadSample(VectorFileReader reader, int sampleRows)
    {
        int dim = reader.Dimension;
        long rows = reader.Count;
        var sample = new float[(long)sampleRows * dim];
        int filled = 0;
        if (sampleRows >= rows)
        {
            reader.Seek(0);
            while (filled < sampleRows)
            {
                int read = reader.ReadFloats(sample.AsSpan(filled * dim));
                if (read == 0) break;
                filled += read;
            }
        }
        else
        {
            long rowBytes = 4 + 4L * dim;
            int runLength = (int)Math.Clamp((64 << 10) / rowBytes, 1, sampleRows);
            int runs = (sampleRows + runLength - 1) / runLength;
            for (int j = 0; j < runs; j++)
            {
                long start = j * rows / runs;
                long next = (j + 1) * rows / runs;
                int want = (int)((long)(j + 1) * sampleRows / runs - (long)j * sampleRows / runs);
                want = (int)Math.Min(want, next - start);
                if (want <= 0) continue;
                reader.Seek(start);
                int read = reader.ReadFloats(sample.AsSpan(filled * dim, want * dim));
                filled += read;
            }
        }
        reader.Seek(0);
        return (sample, filled);
    }

    /// <summary>The batch loop: read, check, add, commit every <c>commitEvery</c> entries and at the end.</summary>
    private sealed class Ingest(EmbeddedVectorStore store, VectorFileReader vectors, VectorFileReader? ids, long firstId, LineReader? payloads, int commitEvery,
        IReadOnlyList<FieldDefinition> fields)
    {
        public void Run(Action<long> progress, Action<string> log)
        {
            int dim = vectors.Dimension;
            long rows = vectors.Count;
            int batchRows = (int)Math.Clamp(BatchBytes / (4L * dim), 64, 65_536);
            batchRows = Math.Min(batchRows, commitEvery);
            var vectorBuffer = new float[batchRows * dim];
            var idBuffer = new long[batchRows];
            long done = 0, committed = 0;
            while (done < rows)
            {
                long nextCommit = committed + commitEvery;
                int n = (int)Math.Min(Math.Min(batchRows, rows - done), nextCommit - done);
                var batchVectors = vectorBuffer.AsSpan(0, n * dim);
                var batchIds = idBuffer.AsSpan(0, n);
                ReadExactly(vectors, batchVectors, n, vectors.ReadFloats);
                if (ids != null) ReadExactly(ids, batchIds, n, ids.ReadInt64);
                else for (int i = 0; i < n; i++) batchIds[i] = firstId + done + i;
                CheckFinite(batchVectors, dim, done, committed);
                byte[][]? batchPayloads = null;
                FieldValues?[]? batchFields = null;
                if (payloads != null)
                {
                    batchPayloads = new byte[n][];
                    if (fields.Count > 0) batchFields = new FieldValues?[n];
                    for (int i = 0; i < n; i++)
                    {
                        batchPayloads[i] = payloads.ReadLine() ?? throw new UserErrorException($"{payloads.Path} ended at line {payloads.LineNumber:N0} (was it changed while being read?).");
                        if (batchFields != null) batchFields[i] = FieldsOf(batchPayloads[i], payloads);
                    }
                }
                store.AddRange(batchIds, batchVectors, batchPayloads, batchFields);
                done += n;
                progress(done);
                if (done == nextCommit || done == rows)
                {
                    store.Commit();
                    committed = done;
                    log($"committed {committed}");
                }
            }
        }

        /// <summary>The field values of a payload line the check pass accepted (a changed file is still reported by line).</summary>
        private FieldValues? FieldsOf(byte[] line, LineReader reader)
        {
            try
            {
                using var document = JsonDocument.Parse(line);
                return FieldSupport.FromJson(document.RootElement, fields);
            }
            catch (Exception e) when (e is JsonException or UserErrorException or InvalidOperationException)
            {
                throw new UserErrorException($"{reader.Path}, line {reader.LineNumber}: {e.Message} (was it changed while being read?)");
            }
        }

        private static void ReadExactly<T>(VectorFileReader reader, Span<T> destination, int rows, ReadRows<T> read)
        {
            int got = 0;
            while (got < rows)
            {
                int n = read(destination[(got * reader.Dimension)..]);
                if (n == 0) throw new UserErrorException($"{reader.Path} ended after {reader.Position:N0} of {reader.Count:N0} rows (was it truncated while being read?).");
                got += n;
            }
        }

        private void CheckFinite(ReadOnlySpan<float> batch, int dim, long firstRow, long committed)
        {
            for (int i = 0; i < batch.Length; i++)
            {
                if (float.IsFinite(batch[i])) continue;
                long row = firstRow + i / dim;
                throw new UserErrorException($"{vectors.Path}, row {row}: value {i % dim} is {(float.IsNaN(batch[i]) ? "NaN" : "infinite")}; only finite values can be stored. "
                    + $"The {firstRow:N0} rows before this batch were added ({committed:N0} of them committed before this error; the rest are committed as the store closes).");
            }
        }
    }

    private delegate int ReadRows<T>(Span<T> destination);
}
