using System.CommandLine;

namespace EmbeddedVectors.Cli.Commands;

/// <summary>
/// <c>ev verify DIR [--repair]</c>: checks every checksum of a store; exit 0 and "ok" when sound, 1 on damage. With
/// <c>--repair</c>, a store with damaged or missing segments is repaired (<see cref="EmbeddedVectorStore.Repair"/>):
/// exit 0 when nothing was lost, 1 when entries were (their ids are printed).
/// </summary>
internal sealed class VerifyCommand : Command
{
    private readonly Argument<string?> _directory = EvOptions.StoreDirectory();
    private readonly Option<bool> _repair = EvOptions.Flag("repair",
        "Take damaged or missing segments out and add their entries back from the log or their intact parts; print the ids that could not be recovered.");

    public VerifyCommand()
        : base("verify", "Checks every checksum: prints \"ok\" (exit 0) or each problem (exit 1); --repair rebuilds damaged segments.")
    {
        Add(_directory);
        Add(_repair);
        SetAction(Run);
    }

    private int Run(ParseResult args)
    {
        string directory = args.Require(_directory, "the store directory (ev verify DIR)");
        if (!Directory.Exists(directory))
            throw new UserErrorException(File.Exists(directory) ? $"{directory} is a file; a store is a directory." : $"No store at {directory}: the directory does not exist.");
        var problems = EmbeddedVectorStore.Verify(directory);
        if (problems.Count == 0)
        {
            Console.Out.WriteLine("ok");
            return 0;
        }
        foreach (string problem in problems) Console.Out.WriteLine(problem);
        if (args.GetValue(_repair)) return Repair(directory);
        Console.Error.WriteLine($"ev: the store at {directory} is damaged: {problems.Count} problem{(problems.Count == 1 ? "" : "s")} found. ev verify --repair can rebuild damaged segments.");
        return 1;
    }

    private static int Repair(string directory)
    {
        StoreRepairReport report;
        try { report = EmbeddedVectorStore.Repair(directory); }
        catch (CorruptFileException e)
        {
            throw new UserErrorException($"cannot repair {directory}: {e.Message} (repair rebuilds segments; the manifest and quantizer files must read back).");
        }
        if (report.RemovedSegments.Count == 0)
        {
            // Verify's problems lie outside the segments (the log or a file repair does not rebuild).
            Console.Error.WriteLine($"ev: the store at {directory} is damaged outside its segments; --repair rebuilds segments only.");
            return 1;
        }
        Console.Out.WriteLine($"repaired: removed segment{(report.RemovedSegments.Count == 1 ? "" : "s")} {string.Join(", ", report.RemovedSegments)} (files moved to {report.SetAsideDirectory}); " +
            $"{report.RecoveredFromLog} entries recovered from the log, {report.RecoveredFromSegments} from the segments' intact parts");
        var after = EmbeddedVectorStore.Verify(directory);
        foreach (string problem in after) Console.Out.WriteLine("still: " + problem);
        if (report.NothingLost && after.Count == 0)
        {
            Console.Out.WriteLine("nothing lost");
            return 0;
        }
        if (report.LostIds.Count > 0) Console.Out.WriteLine($"lost {report.LostIds.Count} ids: {string.Join(" ", report.LostIds)}");
        if (report.UnidentifiedLost > 0) Console.Out.WriteLine($"lost up to {report.UnidentifiedLost} entries whose ids were unreadable");
        Console.Error.WriteLine($"ev: the store at {directory} opens again, but {(after.Count > 0 ? "problems remain" : "entries were lost")}.");
        return 1;
    }
}
