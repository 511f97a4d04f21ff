namespace EmbeddedVectors.Cli.Commands;

/// <summary><c>ev verify DIR</c>: checks every checksum of a store; exit 0 and "ok" when sound, 1 on damage.</summary>
internal static class VerifyCommand
{
    public static int Run(CommandLine args)
    {
        string directory = args.Positional(0, "the store directory (ev verify DIR)");
        args.RejectUnknown(maxPositionals: 1);
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
