using System.CommandLine;
using EmbeddedVectors.Tools;

namespace EmbeddedVectors.Benchmarks.Store;

/// <summary>Thrown for a bad command line; the message is shown with the usage.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// <c>store &lt;subcommand&gt; [options]</c>: plain Stopwatch benchmarks of the on-disk store (no BenchmarkDotNet),
/// each printing small tables and optionally writing them to <c>--json FILE</c>. See docs/benchmarks-store.md.
/// The usage is generated from the subcommands' definitions.
/// </summary>
internal static class StoreBench
{
    private const string ToolName = "store";

    /// <summary>The option builders of the benchmark tool (whole numbers may be written 100_000).</summary>
    public static readonly OptionBuilder Options = new(digitSeparators: true);

    public static Option<string?> Dir() => Options.Required("dir", "The store.", "DIR");
    public static Option<bool> ReadOnly() => OptionBuilder.Flag("read-only", "Open the store read-only (default writable).");
    public static Option<int> NProbe() => Options.Int("nprobe", "Inverted lists searched a query.", 16, min: 1);
    public static Option<int> Rerank() => Options.Int("rerank", "Candidates re-ranked with the full vectors.", 100, min: 0);
    public static Option<int> K() => Options.Int("k", "Neighbours a query.", 10, min: 1);

    public static int Run(string[] args)
    {
        var root = new RootCommand("usage: dotnet run -c Release --project tools/EmbeddedVectors.Benchmarks -- store <subcommand> [options]")
        {
            new BuildCommand(), new OpenCommand(), new RssCommand(), new ColdCommand(), new AppendCommand(), new GrowCommand(), new FiltersCommand(),
        };
        root.HelpName = "EmbeddedVectors.Benchmarks store";
        CommandLineKit.Plain(root);
        CommandLineKit.UseOverviewHelp(root, ToolName);
        if (args.Length == 0 || args[0] == "help")
        {
            CommandLineKit.WriteHelp(root, root, CommandLineKit.Invocation(Console.Out));
            return args.Length == 0 ? 2 : 0;
        }
        var parsed = root.Parse(args, CommandLineKit.Configuration);
        try
        {
            if (parsed.Action is not CommandLineKit.OverviewHelpAction)
            {
                if (parsed.CommandResult.Command == root) throw new UsageException($"Unknown subcommand '{args[0]}'.");
                if (CommandLineKit.FirstError(parsed) is { } error) throw new UsageException(error);
            }
            return parsed.Invoke(CommandLineKit.Invocation(Console.Out));
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine(e.Message);
            CommandLineKit.WriteHelp(root, parsed.CommandResult.Command, CommandLineKit.Invocation(Console.Error));
            return 2;
        }
    }

    /// <summary>The store's shape for every benchmark: L2, nlist 1024, m 48, full vectors kept, seal at 65,536.</summary>
    public static EmbeddedVectorStoreOptions StoreOptions(int dimension) => new()
    {
        Dimension = dimension,
        Metric = Metric.L2,
        NList = 1024,
        M = 48,
        StoreVectors = true,
        SealThreshold = 65_536,
    };
}

/// <summary>
/// One <c>store</c> subcommand: its options, plus <c>--json FILE</c> (every subcommand) and <c>--data DIR</c> (those
/// that read the data set); <see cref="Execute"/> measures and the tables are printed and written here.
/// </summary>
internal abstract class StoreBenchCommand : Command
{
    private readonly Option<string?> _json = StoreBench.Options.String("json", "Also write the tables to this JSON file.", "FILE");
    private readonly Option<string?>? _data;

    protected StoreBenchCommand(string name, string description, bool withData)
        : base(name, description)
    {
        if (withData)
        {
            _data = StoreBench.Options.String("data", $"The data set (default {Dataset.DefaultDirectory}).", "DIR");
            Add(_data);
        }
        Add(_json);
        SetAction(result =>
        {
            var output = Execute(result);
            output.Finish(result.GetValue(_json));
            return 0;
        });
    }

    /// <summary>Where the data set is: <c>--data</c>, or the shared one.</summary>
    protected string DataDirectory(ParseResult args)
        => (_data == null ? null : args.GetValue(_data)) ?? Dataset.DefaultDirectory;

    protected abstract BenchOutput Execute(ParseResult args);
}
