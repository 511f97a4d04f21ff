using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text;

namespace EmbeddedVectors.Tools;

/// <summary>
/// The option builders of the repository's command-line tools (<c>ev</c> and the benchmark tool), on System.CommandLine:
/// <c>--name value</c> options (or <c>--name=value</c>) and value-less flags, each with one wording for its errors.
/// </summary>
/// <param name="digitSeparators">Whether whole numbers may be written with underscores (<c>100_000</c>).</param>
internal sealed class OptionBuilder(bool digitSeparators = false)
{
    /// <summary>A whole number of at least <paramref name="min"/>.</summary>
    public Option<int> Int(string name, string description, int defaultValue, int min = int.MinValue, string helpName = "N", bool showDefault = true)
        => Number(name, description, defaultValue, helpName, showDefault, text =>
            int.TryParse(Digits(text), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value : null,
            value => value >= min ? null : $"--{name} must be at least {min}; got {value}.");

    /// <summary>A 64-bit whole number of at least <paramref name="min"/>.</summary>
    public Option<long> Long(string name, string description, long defaultValue, long min = long.MinValue, string helpName = "N", bool showDefault = true)
        => Number(name, description, defaultValue, helpName, showDefault, text =>
            long.TryParse(Digits(text), NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) ? value : null,
            value => value >= min ? null : $"--{name} must be at least {min}; got {value}.");

    /// <summary>A finite number (invariant culture).</summary>
    public Option<double> Double(string name, string description, double defaultValue, string helpName = "X")
        => Number(name, description, defaultValue, helpName, showDefault: true, text =>
            double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && double.IsFinite(value) ? value : null,
            _ => null);

    /// <summary>A comma-separated list of whole numbers, each at least <paramref name="min"/>.</summary>
    public Option<int[]> IntList(string name, string description, int[] defaultValue, int min = 1, string helpName = "N,N,…")
    {
        var option = Valued<int[]>(name, description, helpName);
        option.DefaultValueFactory = _ => defaultValue;
        option.CustomParser = result =>
        {
            if (Single(result, name) is not { } text) return defaultValue;
            var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parts.Length == 0) return Fail<int[]>(result, $"--{name} takes a comma-separated list of numbers.");
            var values = new int[parts.Length];
            for (int i = 0; i < parts.Length; i++)
            {
                if (!int.TryParse(Digits(parts[i]), NumberStyles.Integer, CultureInfo.InvariantCulture, out values[i]) || values[i] < min)
                    return Fail<int[]>(result, $"--{name}: '{parts[i]}' is not a whole number of at least {min}.");
            }
            return values;
        };
        return option;
    }

    /// <summary>A text value, null when the option is not given.</summary>
    public Option<string?> String(string name, string description, string helpName = "VALUE")
    {
        var option = Valued<string?>(name, description, helpName);
        option.CustomParser = result => Single(result, name);
        return option;
    }

    /// <summary>A text value the command cannot do without (marked required in the help).</summary>
    public Option<string?> Required(string name, string description, string helpName = "FILE")
    {
        var option = String(name, description, helpName);
        option.Required = true;
        return option;
    }

    /// <summary>A flag: true when given; it takes no value, so whatever follows it is read on its own.</summary>
    public static Option<bool> Flag(string name, string description)
        => new("--" + name) { Description = description, Arity = ArgumentArity.Zero };

    /// <remarks>
    /// Without <paramref name="showDefault"/> the help shows no default (the description tells what it means); an
    /// option not given then reads as 0, so that default must be 0.
    /// </remarks>
    private Option<T> Number<T>(string name, string description, T defaultValue, string helpName, bool showDefault,
        Func<string, T?> parse, Func<T, string?> check) where T : struct
    {
        if (!showDefault && !EqualityComparer<T>.Default.Equals(defaultValue, default))
            throw new ArgumentException($"--{name}: a default the help does not show must be 0.", nameof(showDefault));
        var option = Valued<T>(name, description, helpName);
        if (showDefault) option.DefaultValueFactory = _ => defaultValue;
        option.CustomParser = result =>
        {
            if (Single(result, name) is not { } text) return defaultValue;
            if (parse(text) is not T value) return Fail<T>(result, $"--{name} takes {(typeof(T) == typeof(double) ? "a number" : "a whole number")}; got '{text}'.");
            return check(value) is { } problem ? Fail<T>(result, problem) : value;
        };
        return option;
    }

    private static Option<T> Valued<T>(string name, string description, string helpName)
        => new("--" + name) { Description = description, HelpName = helpName, Arity = ArgumentArity.ExactlyOne };

    private static string? Single(ArgumentResult result, string name)
    {
        if (result.Tokens.Count == 0) return null;
        if (result.Tokens.Count > 1)
        {
            result.AddError($"Option --{name} is given twice.");
            return null;
        }
        return result.Tokens[0].Value;
    }

    private static T Fail<T>(ArgumentResult result, string message)
    {
        result.AddError(message);
        return default!;
    }

    private string Digits(string text) => digitSeparators ? text.Replace("_", "", StringComparison.Ordinal) : text;
}

/// <summary>Parsing with the tools' conventions: one plain message for the first mistake, and an overview help.</summary>
internal static class CommandLineKit
{
    /// <summary>No response files (<c>@file</c>), no bundling: every word means what it says.</summary>
    public static ParserConfiguration Configuration { get; } = new() { ResponseFileTokenReplacer = null, EnablePosixBundling = false };

    /// <summary>Invocation where a command's exceptions reach the caller's handlers and Ctrl+C ends the process at once.</summary>
    public static InvocationConfiguration Invocation(TextWriter output) => new()
    {
        EnableDefaultExceptionHandler = false,
        ProcessTerminationTimeout = null,
        Output = output,
        Error = Console.Error,
    };

    /// <summary>Removes the parser's own extras (<c>--version</c>, <c>[directives]</c>) so that only the tool's words are accepted.</summary>
    public static void Plain(RootCommand root)
    {
        foreach (var option in root.Options.Where(o => o is VersionOption).ToList()) root.Options.Remove(option);
        root.Directives.Clear();
    }

    /// <summary>
    /// The first mistake on the command line as one sentence, or null when there is none: an unknown option, an option
    /// without its value, a missing required option, a bad value, then a word too many.
    /// </summary>
    public static string? FirstError(ParseResult result, string unknownOptionHint = "")
    {
        var unmatched = result.UnmatchedTokens;
        var command = result.CommandResult;
        // An unknown --word is unmatched, or taken by a command's argument that accepts any word (a directory, ids).
        var words = command.Children.OfType<ArgumentResult>().SelectMany(a => a.Tokens.Select(t => t.Value)).Concat(unmatched);
        foreach (string token in words)
            if (token.StartsWith("--", StringComparison.Ordinal) && token.Length > 2) return $"Unknown option {OptionName(token)}.{unknownOptionHint}";
        foreach (var option in command.Children.OfType<OptionResult>())
            if (!option.Implicit && option.Tokens.Count == 0 && option.Option.Arity.MinimumNumberOfValues > 0)
                return $"Option {option.Option.Name} needs a value.";
        foreach (var option in command.Children.OfType<OptionResult>())
            if (option.Option.Arity.MaximumNumberOfValues == 1 && option.Tokens.Count > 1) return $"Option {option.Option.Name} is given twice.";
        foreach (var option in command.Command.Options)
            if (option.Required && !result.Given(option)) return $"Missing required option {option.Name}.";
        foreach (var error in result.Errors)
            if (error.SymbolResult is OptionResult or ArgumentResult { Parent: OptionResult }) return error.Message;
        if (unmatched.Count > 0) return $"Unexpected argument '{unmatched[0]}'.";
        return result.Errors.Count > 0 ? result.Errors[0].Message : null;
    }

    /// <summary>True when the option was written on the command line (not just defaulted).</summary>
    public static bool Given(this ParseResult result, Option option) => result.GetResult(option) is { Implicit: false };

    /// <summary>
    /// Makes the root's <c>--help</c> (which every command inherits) print the overview of <see cref="WriteOverview"/> for
    /// the tool itself, and System.CommandLine's generated help for a command.
    /// </summary>
    public static void UseOverviewHelp(RootCommand root, string toolName)
    {
        foreach (var option in root.Options.OfType<HelpOption>())
            if (option.Action is SynchronousCommandLineAction help) option.Action = new OverviewHelpAction(help, toolName);
    }

    /// <summary>Prints the help of <paramref name="command"/> (the overview for the root), as <c>--help</c> would.</summary>
    public static int WriteHelp(RootCommand root, Command command, InvocationConfiguration invocation)
        => root.Parse(command == root ? ["--help"] : [command.Name, "--help"], Configuration).Invoke(invocation);

    /// <summary>The action of <c>--help</c> once <see cref="UseOverviewHelp"/> has run.</summary>
    internal sealed class OverviewHelpAction(SynchronousCommandLineAction commandHelp, string toolName) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            if (parseResult.CommandResult.Command is not RootCommand root) return commandHelp.Invoke(parseResult);
            WriteOverview(root, toolName, parseResult.InvocationConfiguration.Output);
            return 0;
        }
    }

    /// <summary><c>tool name ARG [--required VALUE] [--option VALUE] [--flag]</c>, from the command's definition.</summary>
    public static string Synopsis(Command command, string toolName)
    {
        var words = new List<string> { toolName, command.Name };
        foreach (var argument in command.Arguments.Where(a => !a.Hidden))
        {
            string name = argument.HelpName ?? argument.Name;
            string word = argument.Arity.MaximumNumberOfValues > 1 ? name + "..." : name;
            words.Add(argument.Arity.MinimumNumberOfValues == 0 && argument.Arity.MaximumNumberOfValues == 1 ? $"[{word}]" : word);
        }
        foreach (var option in command.Options.Where(o => !o.Hidden && o is not HelpOption))
        {
            string word = option.Arity.MaximumNumberOfValues == 0 ? option.Name : $"{option.Name} {option.HelpName ?? "VALUE"}";
            words.Add(option.Required ? word : $"[{word}]");
        }
        return string.Join(' ', words);
    }

    /// <summary>The tool's description, then every command with its whole synopsis (all its options) and its description.</summary>
    public static void WriteOverview(RootCommand root, string toolName, TextWriter output, int maxWidth = 110)
    {
        if (!string.IsNullOrEmpty(root.Description)) output.WriteLine(root.Description);
        output.WriteLine();
        foreach (var command in root.Subcommands.Where(c => !c.Hidden))
        {
            foreach (string line in Wrap(Synopsis(command, toolName), maxWidth - 2, continuationIndent: toolName.Length + command.Name.Length + 2))
                output.WriteLine("  " + line);
            foreach (string paragraph in (command.Description ?? "").Split('\n'))
                foreach (string line in Wrap(paragraph.Trim(), maxWidth - 6, continuationIndent: 0))
                    output.WriteLine("      " + line);
        }
        output.WriteLine();
        output.WriteLine($"Run '{toolName} COMMAND --help' for the options of one command, with their defaults.");
    }

    /// <summary>Breaks <paramref name="text"/> at spaces into lines of at most <paramref name="width"/> characters.</summary>
    private static IEnumerable<string> Wrap(string text, int width, int continuationIndent)
    {
        var line = new StringBuilder();
        foreach (string word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                yield return line.ToString();
                line.Clear().Append(' ', continuationIndent);
            }
            if (line.Length > 0 && line.ToString().Trim().Length > 0) line.Append(' ');
            line.Append(word);
        }
        if (line.Length > 0) yield return line.ToString();
    }

    private static string OptionName(string token)
    {
        int equals = token.IndexOfAny(['=', ':']);
        return equals > 0 ? token[..equals] : token;
    }
}
