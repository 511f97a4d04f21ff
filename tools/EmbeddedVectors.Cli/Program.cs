using System.CommandLine;
using System.Text.Json;
using EmbeddedVectors.Cli;
using EmbeddedVectors.Cli.Commands;
using EmbeddedVectors.Tools;
using Spectre.Console;

return CliApp.Run(args);

namespace EmbeddedVectors.Cli
{
    /// <summary>The <c>ev</c> tool: <see cref="Run"/> is the whole program (public so tests can call it in-process).</summary>
    public static class CliApp
    {
        private const string ToolName = "ev";
        private const string UnknownOptionHint = " Run 'ev help' for the options of each command.";

        /// <summary>Every command of the tool; its help (<c>ev help</c>, <c>ev COMMAND --help</c>) is generated from these definitions.</summary>
        private static RootCommand BuildCommands()
        {
            var root = new RootCommand("ev — EmbeddedVectors command-line tool. On-disk stores (a store is a directory): create, add, search, get, delete, compact, retrain, fields, info, verify, bench DIR. In memory: bench --base. The sample: demo.")
            {
                new CreateCommand(), new AddCommand(), new SearchCommand(), new GetCommand(), new DeleteCommand(), new CompactCommand(), new RetrainCommand(), new FieldsCommand(),
                new InfoCommand(), new VerifyCommand(), new BenchCommand(), new DemoCommand(),
            };
            root.HelpName = ToolName;
            CommandLineKit.Plain(root);
            CommandLineKit.UseOverviewHelp(root, ToolName);
            var topic = new Argument<string?>("COMMAND") { Description = "The command to describe.", Arity = ArgumentArity.ZeroOrOne };
            var helpCommand = new Command("help", "Prints this help, or with a COMMAND that command's options and defaults.") { topic };
            helpCommand.SetAction(result =>
            {
                string? name = result.GetValue(topic);
                Command command = name == null ? root : root.Subcommands.FirstOrDefault(c => c.Name == name)
                    ?? throw new UserErrorException($"Unknown command '{name}'. Run 'ev help'.");
                return CommandLineKit.WriteHelp(root, command, CommandLineKit.Invocation(Console.Out));
            });
            root.Add(helpCommand);
            return root;
        }

        /// <summary>Runs one command; returns the process exit code (0 success, 1 failure, 2 usage error).</summary>
        public static int Run(string[] args)
        {
            ArgumentNullException.ThrowIfNull(args);
            // A console bound to the current Console.Out (which tests may have redirected), with colours only on a terminal.
            var output = new AnsiConsoleOutput(Console.Out);
            AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = output,
                Ansi = output.IsTerminal ? AnsiSupport.Detect : AnsiSupport.No,
                ColorSystem = output.IsTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
                Interactive = output.IsTerminal ? InteractionSupport.Detect : InteractionSupport.No,
            });
            // Into a file or a pipe, lines are not wrapped at 80 columns.
            if (!output.IsTerminal) AnsiConsole.Profile.Width = 1000;
            var root = BuildCommands();
            if (args.Length == 0)
            {
                CommandLineKit.WriteHelp(root, root, CommandLineKit.Invocation(Console.Out));
                return 2;
            }
            try
            {
                var parsed = root.Parse(args, CommandLineKit.Configuration);
                if (parsed.Action is not CommandLineKit.OverviewHelpAction)
                {
                    if (parsed.CommandResult.Command == root) throw new UserErrorException($"Unknown command '{args[0]}'. Run 'ev help'.");
                    if (CommandLineKit.FirstError(parsed, UnknownOptionHint) is { } error) throw new UserErrorException(error);
                }
                return parsed.Invoke(CommandLineKit.Invocation(Console.Out));
            }
            catch (UserErrorException e)
            {
                Console.Error.WriteLine($"ev: {e.Message}");
                return 2;
            }
            catch (Exception e) when (e is EmbeddedVectorsException or ArgumentException or InvalidOperationException
                or IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
            {
                Console.Error.WriteLine($"ev: {Describe(e)}");
                return 1;
            }
        }


        /// <summary>Opens what <c>-</c> reads (standard input); tests put a stream of their own here.</summary>
        internal static Func<Stream> OpenStandardInput { get; set; } = Console.OpenStandardInput;

        /// <summary>True when progress can be drawn live (an interactive terminal); otherwise commands print plain lines.</summary>
        internal static bool Interactive => AnsiConsole.Profile.Capabilities.Interactive && AnsiConsole.Profile.Out.IsTerminal;

        /// <summary>The message without the " (Parameter 'x')" and "Actual value was" tails that mean nothing to a user.</summary>
        private static string Describe(Exception e)
        {
            string message = e.Message;
            if (e is ArgumentException { ParamName: { } name })
            {
                int tail = message.IndexOf($" (Parameter '{name}')", StringComparison.Ordinal);
                if (tail >= 0) message = message[..tail];
            }
            return message.ReplaceLineEndings(" ").Trim();
        }
    }
}
