namespace EmbeddedVectors.Cli.Commands;

/// <summary><c>ev create DIR --dim D</c>: make a new, empty store.</summary>
internal static class CreateCommand
{
    public static int Run(CommandLine args)
    {
        string directory = args.Positional(0, "the store directory (ev create DIR --dim D)");
        int dim = args.Int("dim", 0, min: 1);
        var metric = StoreSupport.ParseMetric(args.String("metric"));
        int nlist = args.Int("nlist", 1024, min: 1);
        int m = args.Int("m", 0, min: 0);
        bool noVectors = args.Flag("no-vectors");
        int trainingThreshold = args.Int("training-threshold", 0, min: 0);
        int sealThreshold = args.Int("seal-threshold", 65_536, min: 1);
        string codes = args.String("codes") ?? "pq8";
        bool opq = args.Flag("opq");
        args.RejectUnknown(maxPositionals: 1);
        if (dim == 0) throw new UserErrorException("Missing required option --dim (the length of the vectors).");
        var vectorCodes = StoreSupport.ParseCodes(codes);

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
            M = m,
            StoreVectors = !noVectors,
            TrainingThreshold = trainingThreshold > 0 ? trainingThreshold : EmbeddedVectorStoreOptions.DefaultTrainingThreshold(nlist),
            SealThreshold = sealThreshold,
            Codes = vectorCodes,
            Opq = opq,
        };
        EmbeddedVectorStore store;
        try
        {
            store = EmbeddedVectorStore.Create(directory, options);
        }
        catch (ArgumentException e)
        {
            // Invalid shape (m not dividing the dimension, a training threshold below what training needs): a usage error.
            string message = e.ParamName is { } name ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;
            int actual = message.IndexOf("\nActual value was", StringComparison.Ordinal);
            throw new UserErrorException(actual >= 0 ? message[..actual] : message.ReplaceLineEndings(" "));
        }
        using var _ = store;
        var info = store.GetInfo();
        int threshold = store.GetInfo().TrainingThreshold;
        Console.Out.WriteLine($"Created an empty store in {store.StorePath}");
        Console.Out.WriteLine($"  {info.Dimension}-dimensional vectors, metric {info.Metric.ToShortName()}, nlist {info.NList}, m {info.M} ({info.Codes} codes, {info.M} byte{(info.M == 1 ? "" : "s")} a vector)");
        Console.Out.WriteLine(info.StoreVectors
            ? $"  full vectors kept for re-ranking ({4L * info.Dimension} bytes a vector)"
            : "  full vectors not kept (--no-vectors): --rerank is unavailable");
        Console.Out.WriteLine($"  trains after {threshold:N0} vectors (or when 'ev add' brings that many); seals a segment every {sealThreshold:N0} entries");
        return 0;
    }
}
