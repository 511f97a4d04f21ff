using System.CommandLine;

namespace EmbeddedVectors.Cli.Commands;

/// <summary><c>ev verify DIR</c>: checks every checksum of a store; exit 0 and "ok" when sound, 1 on damage.</summary>
internal sealed class VerifyCommand : Command
{
    private readonly Argument<string?> _directory = EvOptions.StoreDirectory();

    public VerifyCommand()
        : base("verify", "Checks every checksum: prints \"ok\" (exit 0) or each problem (exit 1).")
    {
        Add(_directory);
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
        Console.Error.WriteLine($"ev: the store at {directory} is damaged: {problems.Count} problem{(problems.Count == 1 ? "" : "s")} found.");
        return 1;
    }
}
