using System.Text.Json;
using ScottPlot;

namespace EmbeddedVectors.Benchmarks.Compare;

/// <summary>
/// Draws recall@10 against queries per second (log scale) from the JSON files of <c>ev bench</c>,
/// <c>tools/bench/faiss_bench.py</c> and the USearch comparison. Usage: <c>plot --out FILE.png JSON...</c>.
/// </summary>
internal static class RecallQpsPlot
{
    public static int Run(string[] args)
    {
        int at = Array.IndexOf(args, "--out");
        if (at < 0 || at + 1 >= args.Length) throw new ArgumentException("plot needs --out FILE.png and one or more JSON files.");
        string output = args[at + 1];
        var inputs = args.Where((_, i) => i != at && i != at + 1).ToArray();
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int seriesIndex = 0;
        foreach (string path in inputs)
        {
            foreach (var (label, points) in ReadSeries(path))
            {
                var ordered = points.OrderBy(p => p.Recall).ToArray();
                var scatter = plot.Add.Scatter(ordered.Select(p => p.Recall).ToArray(), ordered.Select(p => Math.Log10(p.Qps)).ToArray());
                scatter.LegendText = label;
                scatter.Color = palette.GetColor(seriesIndex++);
                scatter.MarkerSize = 7;
                scatter.LineWidth = 2;
            }
        }
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = value => Math.Pow(10, value).ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
        };
        plot.Title("recall@10 vs queries per second (one query at a time, one thread)");
        plot.XLabel("recall@10");
        plot.YLabel("queries per second (log scale)");
        plot.ShowLegend(Alignment.LowerLeft);
        plot.SavePng(output, 1100, 700);
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    private static IEnumerable<(string Label, List<(double Recall, double Qps)> Points)> ReadSeries(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        if (root.ValueKind == JsonValueKind.Array)
        {
            // The USearch comparison: rows of engine, setting, recall_at10, qps.
            foreach (var group in root.EnumerateArray().GroupBy(r => r.GetProperty("engine").GetString() ?? "?"))
                yield return (group.Key, group.Select(r => (Recall(r), r.GetProperty("qps").GetDouble())).ToList());
            yield break;
        }
        string engine = root.TryGetProperty("engine", out var e) ? e.GetString() ?? "?" : "?";
        string index = root.GetProperty("index").GetString() ?? "?";
        string codes = root.TryGetProperty("codes", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() ?? "" : "";
        foreach (var byRerank in root.GetProperty("results").EnumerateArray().GroupBy(r => r.GetProperty("rerank").GetInt32()))
        {
            string label = $"{engine} {index}{(codes.Length > 0 ? " " + codes : "")}{(byRerank.Key > 0 ? $" rerank {byRerank.Key}" : "")}";
            yield return (label, byRerank.Select(r => (Recall(r), r.GetProperty("qps").GetDouble())).ToList());
        }
    }

    private static double Recall(JsonElement row)
    {
        foreach (var name in new[] { "recall_at_10", "recall_at10" })
            if (row.TryGetProperty(name, out var value)) return value.GetDouble();
        throw new InvalidDataException("A result row has no recall_at_10.");
    }
}
