using System.Globalization;

namespace EmbeddedVectors.Benchmarks.Store;

/// <summary>Thrown for a bad command line; the message is shown with the usage.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// The options of one <c>store</c> subcommand: <c>--name value</c> pairs and <c>--flag</c>s (a flag is an option
/// not followed by a value). Every option read is remembered, so unknown ones can be rejected.
/// </summary>
internal sealed class BenchArgs
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public BenchArgs(IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count; i++)
        {
            string token = args[i];
            if (!token.StartsWith("--", StringComparison.Ordinal) || token.Length == 2)
                throw new UsageException($"Unexpected argument '{token}': options are --name value or --flag.");
            string name = token[2..];
            string? value = i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : null;
            if (!_values.TryAdd(name, value)) throw new UsageException($"--{name} is given twice.");
        }
    }

    public string? String(string name)
    {
        _used.Add(name);
        if (!_values.TryGetValue(name, out string? value)) return null;
        return value ?? throw new UsageException($"--{name} needs a value.");
    }

    public string Required(string name) => String(name) ?? throw new UsageException($"--{name} is required.");

    public bool Flag(string name)
    {
        _used.Add(name);
        if (!_values.TryGetValue(name, out string? value)) return false;
        if (value != null) throw new UsageException($"--{name} takes no value (got '{value}').");
        return true;
    }

    public int Int(string name, int fallback, int min = 0)
    {
        int[] values = IntList(name, [fallback], min);
        return values.Length == 1 ? values[0] : throw new UsageException($"--{name} takes one value.");
    }

    public int[] IntList(string name, int[] fallback, int min = 0)
    {
        string? text = String(name);
        if (text == null) return fallback;
        var values = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => int.TryParse(part.Replace("_", ""), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= min
                ? v
                : throw new UsageException($"--{name}: '{part}' is not an integer >= {min}."))
            .ToArray();
        return values.Length > 0 ? values : throw new UsageException($"--{name} needs at least one value.");
    }

    public double Double(string name, double fallback)
    {
        string? text = String(name);
        if (text == null) return fallback;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
            ? v
            : throw new UsageException($"--{name}: '{text}' is not a number.");
    }

    /// <summary>Fails on any option that no accessor asked for (a typo would otherwise be ignored silently).</summary>
    public void RejectUnknown()
    {
        var unknown = _values.Keys.Where(k => !_used.Contains(k)).ToList();
        if (unknown.Count > 0) throw new UsageException($"Unknown option(s): {string.Join(", ", unknown.Select(u => "--" + u))}.");
    }
}
