using System.Globalization;

namespace EmbeddedVectors.Cli;

/// <summary>A mistake on the command line or in the user's input: printed as one line on stderr, no stack trace.</summary>
internal sealed class UserErrorException(string message) : Exception(message);

/// <summary>
/// The parsed words of one command: positional arguments and <c>--name value</c> options (or <c>--flag</c>).
/// Every option a command reads is marked as used; any left over is reported as unknown.
/// </summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly List<string> _positionals = [];
    private readonly HashSet<string> _flags;

    public CommandLine(IEnumerable<string> words, params string[] flagNames)
    {
        _flags = new HashSet<string>(flagNames, StringComparer.Ordinal);
        var list = words.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            string word = list[i];
            if (!word.StartsWith("--", StringComparison.Ordinal) || word.Length == 2)
            {
                _positionals.Add(word);
                continue;
            }
            string name = word[2..];
            string? value = null;
            int equals = name.IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0)
            {
                value = name[(equals + 1)..];
                name = name[..equals];
            }
            else if (!_flags.Contains(name))
            {
                if (i + 1 >= list.Count) throw new UserErrorException($"Option --{name} needs a value.");
                value = list[++i];
            }
            if (!_options.TryAdd(name, value)) throw new UserErrorException($"Option --{name} is given twice.");
        }
    }

    public IReadOnlyList<string> Positionals => _positionals;

    public string Positional(int index, string what)
        => index < _positionals.Count ? _positionals[index] : throw new UserErrorException($"Missing {what}.");

    public bool Flag(string name)
    {
        _used.Add(name);
        return _options.ContainsKey(name);
    }

    public string? String(string name)
    {
        _used.Add(name);
        return _options.TryGetValue(name, out var value) ? value : null;
    }

    public string RequiredString(string name)
        => String(name) ?? throw new UserErrorException($"Missing required option --{name}.");

    public int Int(string name, int defaultValue, int min = int.MinValue)
    {
        string? text = String(name);
        if (text == null) return defaultValue;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
            throw new UserErrorException($"--{name} takes a whole number; got '{text}'.");
        if (value < min) throw new UserErrorException($"--{name} must be at least {min}; got {value}.");
        return value;
    }

    public long Long(string name, long defaultValue, long min = long.MinValue)
    {
        string? text = String(name);
        if (text == null) return defaultValue;
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value))
            throw new UserErrorException($"--{name} takes a whole number; got '{text}'.");
        if (value < min) throw new UserErrorException($"--{name} must be at least {min}; got {value}.");
        return value;
    }

    public int[] IntList(string name, int[] defaultValue, int min = 1)
    {
        string? text = String(name);
        if (text == null) return defaultValue;
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new UserErrorException($"--{name} takes a comma-separated list of numbers.");
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out values[i]) || values[i] < min)
                throw new UserErrorException($"--{name}: '{parts[i]}' is not a whole number of at least {min}.");
        }
        return values;
    }

    /// <summary>Call after reading every option: anything not read is a typo or an option of another command.</summary>
    public void RejectUnknown(int maxPositionals)
    {
        foreach (var name in _options.Keys)
            if (!_used.Contains(name)) throw new UserErrorException($"Unknown option --{name}. Run 'ev help' for the options of each command.");
        if (_positionals.Count > maxPositionals)
            throw new UserErrorException($"Unexpected argument '{_positionals[maxPositionals]}'.");
    }
}
