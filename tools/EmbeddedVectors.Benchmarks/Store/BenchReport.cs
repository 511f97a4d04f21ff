using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace EmbeddedVectors.Benchmarks.Store;

/// <summary>A small table: printed aligned on the console, written to JSON as one object per row.</summary>
internal sealed class BenchTable(string title, params string[] columns)
{
    public string Title { get; } = title;
    public string[] Columns { get; } = columns;
    public List<object[]> Rows { get; } = [];

    public void Add(params object[] cells)
    {
        if (cells.Length != Columns.Length) throw new ArgumentException($"{Title}: {cells.Length} cells for {Columns.Length} columns.");
        Rows.Add(cells);
    }

    public void Print(TextWriter output)
    {
        var text = Rows.Select(row => row.Select(Format).ToArray()).ToList();
        var widths = Columns.Select((c, i) => Math.Max(c.Length, text.Count == 0 ? 0 : text.Max(r => r[i].Length))).ToArray();
        output.WriteLine();
        output.WriteLine(Title);
        output.WriteLine(string.Join("  ", Columns.Select((c, i) => c.PadLeft(widths[i]))));
        output.WriteLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var row in text) output.WriteLine(string.Join("  ", row.Select((c, i) => c.PadLeft(widths[i]))));
    }

    public object ToJson() => new
    {
        title = Title,
        rows = Rows.Select(row => Columns.Select((c, i) => (c, row[i])).ToDictionary(p => p.c, p => JsonValue(p.Item2))).ToList(),
    };

    /// <summary>JSON has no NaN or infinity: they become null.</summary>
    public static object? JsonValue(object value) => value is double d && !double.IsFinite(d) ? null : value;

    /// <summary>Numbers with about four significant digits; everything else as is.</summary>
    public static string Format(object value) => value switch
    {
        double d when double.IsNaN(d) => "-",
        double d when Math.Abs(d) >= 10_000 => d.ToString("N0", CultureInfo.InvariantCulture),
        double d when Math.Abs(d) >= 100 => d.ToString("F1", CultureInfo.InvariantCulture),
        double d when Math.Abs(d) >= 1 => d.ToString("F2", CultureInfo.InvariantCulture),
        double d => d.ToString("F3", CultureInfo.InvariantCulture),
        long l => l.ToString("N0", CultureInfo.InvariantCulture),
        int i => i.ToString("N0", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}

/// <summary>What one subcommand reports: its parameters, the machine, and its tables.</summary>
internal sealed class BenchOutput(string command)
{
    public string Command { get; } = command;
    public Dictionary<string, object> Parameters { get; } = [];
    public List<BenchTable> Tables { get; } = [];

    public BenchTable Table(string title, params string[] columns)
    {
        var table = new BenchTable(title, columns);
        Tables.Add(table);
        return table;
    }

    /// <summary>Prints the tables, then writes the JSON file when <paramref name="jsonPath"/> is set.</summary>
    public void Finish(string? jsonPath)
    {
        var output = Console.Out;
        output.WriteLine($"store {Command}: {string.Join(", ", Parameters.Select(p => $"{p.Key}={BenchTable.Format(p.Value)}"))}");
        output.WriteLine($"machine: {Machine.Describe()}");
        foreach (var table in Tables) table.Print(output);
        output.WriteLine();
        if (jsonPath == null) return;
        var document = new
        {
            command = Command,
            utc = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            machine = Machine.Describe(),
            parameters = Parameters,
            tables = Tables.Select(t => t.ToJson()).ToList(),
        };
        File.WriteAllText(jsonPath, JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
        output.WriteLine($"wrote {jsonPath}");
    }
}

/// <summary>Summaries of repeated measurements.</summary>
internal static class Stats
{
    public static double Median(IReadOnlyCollection<double> values) => Percentile(values, 50);

    /// <summary>Nearest-rank-interpolated percentile (0..100) of <paramref name="values"/>.</summary>
    public static double Percentile(IReadOnlyCollection<double> values, double percent)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        double rank = percent / 100 * (sorted.Length - 1);
        int low = (int)Math.Floor(rank), high = (int)Math.Ceiling(rank);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }

    public static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}

/// <summary>The machine and process, as the report names them.</summary>
internal static class Machine
{
    public static string Describe()
    {
        string affinity = OperatingSystem.IsLinux() || OperatingSystem.IsWindows()
            ? "0x" + ((long)Process.GetCurrentProcess().ProcessorAffinity).ToString("x", CultureInfo.InvariantCulture)
            : "?";
        return $"{CpuModel()}, {Environment.ProcessorCount} cpus (affinity {affinity}), {TotalRamGiB():F1} GiB RAM, " +
               $"{RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}";
    }

    private static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line?.Split(':', 2)[1].Trim() ?? RuntimeInformation.ProcessArchitecture.ToString();
        }
        catch (IOException) { return RuntimeInformation.ProcessArchitecture.ToString(); }
    }

    private static double TotalRamGiB() => ProcStatus.ReadKb("/proc/meminfo", "MemTotal") / 1048576.0;
}

/// <summary>Memory figures of this process from <c>/proc/self/status</c> (kB).</summary>
internal static class ProcStatus
{
    public static long Kb(string field) => ReadKb("/proc/self/status", field);

    public static long ReadKb(string path, string field)
    {
        foreach (string line in File.ReadLines(path))
        {
            if (!line.StartsWith(field + ":", StringComparison.Ordinal)) continue;
            string number = line[(field.Length + 1)..].Trim().Split(' ')[0];
            return long.Parse(number, CultureInfo.InvariantCulture);
        }
        return -1;
    }
}
