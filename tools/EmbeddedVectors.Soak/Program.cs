using System.Globalization;
using EmbeddedVectors.Soak;

// The reliability harnesses (docs/reliability.md). Each command prints its figures; exit 0 when nothing was violated.
//   kill-soak ROOT [KILLS=1000] [SEED=1] [FRESH_EVERY=50]    SIGKILL a writer KILLS times, check after each
//   storm DIR [SECONDS=600] [SEED=1]                          8 searchers, 1 writer, seals, compaction, a reader process
//   soak-child / storm-reader / scripted-writer               the child processes of the above and of RefreshTests
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: EmbeddedVectors.Soak kill-soak ROOT [KILLS] [SEED] [FRESH_EVERY] | storm DIR [SECONDS] [SEED]");
    return 2;
}
int Number(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
switch (args[0])
{
    case "scripted-writer":
        return ScriptedWriter.Run(args[1], Console.In, Console.Out);
    case "storm-reader":
        return Storm.RunReader(args[1], double.Parse(args[2], CultureInfo.InvariantCulture), args[3]);
    case "storm":
    {
        var result = new Storm(args[1], Number(3, 1), Console.Out).Run(Number(2, 600));
        Console.WriteLine($"storm {result.Seconds:F0} s: searches {result.Searches} (8 threads) + {result.ReaderSearches} (read-only process), adds {result.Adds}, upserts {result.Upserts}, deletes {result.Deletes}, commits {result.Commits}, seals {result.Seals}, compactions {result.Compactions}, violations {result.Violations} + {result.ReaderViolations}");
        foreach (string problem in result.Problems) Console.WriteLine(problem);
        return result.Violations + result.ReaderViolations == 0 ? 0 : 1;
    }
    case "soak-child":
        return SoakChild.Run(args[1], Number(2, 1), args[3]);
    case "kill-soak":
    {
        Directory.CreateDirectory(args[1]);
        var result = new KillSoak(args[1], Number(3, 1), Console.Out).Run(Number(2, 1000), Number(4, 50));
        Console.WriteLine($"kills {result.Kills}, acknowledged commits {result.AcknowledgedCommits}, stores {result.Stores}, lost {result.Lost}, resurrected {result.Resurrected}, damaged {result.Damaged}, failed opens {result.FailedOpens}");
        Console.WriteLine("kills after: " + string.Join(", ", result.KillsAfter.OrderBy(pair => pair.Key).Select(pair => $"{pair.Key} {pair.Value}")));
        foreach (string problem in result.Problems) Console.WriteLine(problem);
        return result.Lost + result.Resurrected + result.Damaged + result.FailedOpens == 0 ? 0 : 1;
    }
    default:
        Console.Error.WriteLine($"unknown command {args[0]}");
        return 2;
}
