using System.CommandLine;
using System.Diagnostics;

namespace EmbeddedVectors.Cli.Commands;

/// <summary><c>ev retrain DIR</c>: new quantizers trained on the stored vectors, every entry re-encoded, switched atomically.</summary>
internal sealed class RetrainCommand : Command
{
    private readonly Argument<string?> _directory = EvOptions.StoreDirectory();
    private readonly Option<int> _sample = EvOptions.Build.Int("sample", "Vectors to train on (0: 256 × nlist, at most every entry).", 0, min: 0);

    public RetrainCommand()
        : base("retrain", "Trains new quantizers on a sample of the stored vectors and re-encodes every entry with them (searches go on meanwhile).")
    {
        Add(_directory);
        Add(_sample);
        SetAction(Run);
    }

    private int Run(ParseResult args)
    {
        string directory = args.Require(_directory, "the store directory (ev retrain DIR)");
        int sample = args.GetValue(_sample);
        using var store = StoreSupport.Open(directory, readOnly: false);
        var before = store.GetInfo();
        if (!before.Trained) throw new UserErrorException($"The store at {directory} is not trained yet; it trains itself once it holds {before.TrainingThreshold:N0} entries.");
        var clock = Stopwatch.StartNew();
        store.Retrain(sample);
        var after = store.GetInfo();
        Console.Out.WriteLine($"Retrained in {clock.Elapsed.TotalSeconds:F1} s: {after.Count:N0} entries re-encoded into {after.Segments} segment(s).");
        Console.Out.WriteLine($"coarse error: training {before.TrainingError:G4} -> {after.TrainingError:G4}"
            + (before.RecentError is double recent ? $" (recent additions were at {recent:G4})" : ""));
        Console.Out.WriteLine($"largest list: {before.LargestList:N0} -> {after.LargestList:N0} (mean {after.MeanList:N1}), empty lists {before.EmptyLists} -> {after.EmptyLists}");
        return 0;
    }
}
