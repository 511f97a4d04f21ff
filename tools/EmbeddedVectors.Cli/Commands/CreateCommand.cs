using System.CommandLine;

namespace EmbeddedVectors.Cli.Commands;

/// <summary><c>ev create DIR --dim D</c>: make a new, empty store.</summary>
internal sealed class CreateCommand : Command
{
    private readonly Argument<string?> _directory = EvOptions.StoreDirectory();
    private readonly Option<int> _dim = EvOptions.Build.Int("dim", "The length of the vectors (required).", 0, min: 1, helpName: "D", showDefault: false);
    private readonly Option<string?> _metric = EvOptions.Metric();
    private readonly Option<int> _nlist = EvOptions.NList();
    private readonly Option<int> _m = EvOptions.Build.Int("m", "PQ sub-quantizers, the bytes of a vector's code (0: D/8, or D/4 with pq4fs).", 0, min: 0, showDefault: false);
    private readonly Option<bool> _noVectors = EvOptions.Flag("no-vectors", "Keep only the codes: no re-ranking, and no re-rank rows (2 × D bytes a vector with the default --rows f16).");
    private readonly Option<int> _trainingThreshold = EvOptions.Build.Int("training-threshold",
        "Vectors the store collects before it trains itself (0: max(256, 32 × nlist)).", 0, min: 0, showDefault: false);
    private readonly Option<int> _sealThreshold = EvOptions.Build.Int("seal-threshold", "Write-buffer entries a segment.", 65_536, min: 1);
    private readonly Option<string?> _codes = EvOptions.Codes();
    private readonly Option<bool> _opq = EvOptions.Flag("opq", "Learn a rotation (OPQ) before the product quantizer.");
    private readonly Option<string?> _rows = EvOptions.Build.String("rows",
        "How segments keep the re-rank vectors: f16 (2 × D bytes a vector, the default), f32 (4 × D) or i8 (D; per-dimension offset and scale learned at training).", "f32|f16|i8");
    private readonly Option<string[]> _fields = FieldSupport.SpecOption("--field",
        $"Declares an indexed metadata field (repeatable), TYPE {FieldSupport.TypeList}; 'ev add --payloads' takes its value from the payload's top-level key NAME, and 'ev search --where' filters on it.");

    public CreateCommand()
        : base("create", "Creates an empty store. --no-vectors keeps only the codes (no re-ranking); the store trains itself once it holds --training-threshold vectors (default max(256, 32 × nlist)).")
    {
        Add(_directory);
        foreach (var option in new Option[] { _dim, _metric, _nlist, _m, _noVectors, _trainingThreshold, _sealThreshold, _codes, _opq, _rows, _fields }) Add(option);
        SetAction(Run);
    }

    private int Run(ParseResult args)
    {
        string directory = args.Require(_directory, "the store directory (ev create DIR --dim D)");
        int dim = args.GetValue(_dim);
        var metric = StoreSupport.ParseMetric(args.GetValue(_metric));
        int nlist = args.GetValue(_nlist);
        if (dim == 0) throw new UserErrorException("Missing required option --dim (the length of the vectors).");
        var vectorCodes = StoreSupport.ParseCodes(args.GetValue(_codes) ?? "pq8");
        var rows = StoreSupport.ParseRows(args.GetValue(_rows));
        var fields = (args.GetValue(_fields) ?? []).Select(FieldSupport.ParseSpec).ToArray();

        if (File.Exists(directory)) throw new UserErrorException($"{directory} is a file; give a new or empty directory.");
        if (Directory.Exists(directory))
        {
            if (EmbeddedVectorStore.Exists(directory))
                throw new UserErrorException($"{directory} already holds an EmbeddedVectors store; choose another directory (or add to it with 'ev add').");
            if (Directory.EnumerateFileSystemEntries(directory).Any())
                throw new UserErrorException($"{directory} exists and is not empty; give a new or empty directory.");
        }

        var options = new EmbeddedVectorStoreOptions
        {
            Dimension = dim,
            Metric = metric,
            NList = nlist,
            M = args.GetValue(_m),
            StoreVectors = !args.GetValue(_noVectors),
            TrainingThreshold = args.GetValue(_trainingThreshold) is > 0 and int given ? given : EmbeddedVectorStoreOptions.DefaultTrainingThreshold(nlist),
            SealThreshold = args.GetValue(_sealThreshold),
            Codes = vectorCodes,
            Opq = args.GetValue(_opq),
            Rows = rows ?? new EmbeddedVectorStoreOptions().Rows,
            Fields = fields,
        };
        EmbeddedVectorStore store;
        try
        {
            store = EmbeddedVectorStore.Create(directory, options);
        }
        catch (ArgumentException e)
        {
            // Invalid shape (m not dividing the dimension, a training threshold below what training needs, a bad or
            // repeated field name): a usage error.
            string message = e.ParamName is { } name ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;
            int actual = message.IndexOf("\nActual value was", StringComparison.Ordinal);
            throw new UserErrorException(actual >= 0 ? message[..actual] : message.ReplaceLineEndings(" "));
        }
        using var _ = store;
        var info = store.GetInfo();
        int threshold = store.GetInfo().TrainingThreshold;
        Console.Out.WriteLine($"Created an empty store in {store.StorePath}");
        Console.Out.WriteLine($"  {info.Dimension}-dimensional vectors, metric {info.Metric.ToShortName()}, nlist {info.NList}, m {info.M} ({info.Codes} codes, {info.M} byte{(info.M == 1 ? "" : "s")} a vector{(info.Opq ? ", after an OPQ rotation" : "")})");
        Console.Out.WriteLine(info.StoreVectors
            ? $"  full vectors kept for re-ranking as {info.Rows} ({RowEncodingNames.Parse(info.Rows).BytesPerRow(info.Dimension)} bytes a vector)"
            : "  full vectors not kept (--no-vectors): --rerank is unavailable");
        if (fields.Length > 0) Console.Out.WriteLine($"  fields: {FieldSupport.Describe(store.Fields)}");
        Console.Out.WriteLine($"  trains after {threshold:N0} vectors (or when 'ev add' brings that many); seals a segment every {options.SealThreshold:N0} entries");
        return 0;
    }
}
