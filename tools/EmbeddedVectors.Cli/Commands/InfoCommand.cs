using System.CommandLine;
using Spectre.Console;

namespace EmbeddedVectors.Cli.Commands;

/// <summary><c>ev info DIR [--json]</c>: the counts, sizes and parameters of a store (opened read-only).</summary>
internal sealed class InfoCommand : Command
{
    private readonly Argument<string?> _directory = EvOptions.StoreDirectory();
    private readonly Option<bool> _json = EvOptions.Flag("json", "Print the figures as one JSON object.");

    public InfoCommand()
        : base("info", "Counts, parameters and size on disk (the store is opened read-only).")
    {
        Add(_directory);
        Add(_json);
        SetAction(Run);
    }

    private int Run(ParseResult args)
    {
        string directory = args.Require(_directory, "the store directory (ev info DIR)");
        bool json = args.GetValue(_json);
        using var store = StoreSupport.Open(directory, readOnly: true);
        var info = store.GetInfo();
        int threshold = info.TrainingThreshold;
        if (json)
        {
            StoreSupport.PrintJson(w =>
            {
                w.WriteStartObject();
                w.WriteString("path", store.StorePath);
                w.WriteNumber("count", info.Count);
                w.WriteNumber("dim", info.Dimension);
                w.WriteString("metric", info.Metric.ToShortName());
                w.WriteNumber("nlist", info.NList);
                w.WriteNumber("m", info.M);
                w.WriteString("codes", info.Codes);
                w.WriteBoolean("opq", info.Opq);
                w.WriteBoolean("store_vectors", info.StoreVectors);
                w.WriteString("rows", info.Rows);
                w.WriteBoolean("trained", info.Trained);
                w.WriteNumber("training_threshold", threshold);
                w.WriteNumber("segments", info.Segments);
                w.WriteNumber("sealed", info.SealedEntries);
                w.WriteNumber("deleted", info.DeletedEntries);
                w.WriteNumber("buffered", info.BufferedEntries);
                w.WriteNumber("bytes_on_disk", info.BytesOnDisk);
                w.WriteNumber("largest_list", info.LargestList);
                w.WriteNumber("mean_list", Math.Round(info.MeanList, 2));
                w.WriteNumber("empty_lists", info.EmptyLists);
                w.WriteNumber("training_error", info.TrainingError);
                if (info.RecentError is double recent) w.WriteNumber("recent_error", recent);
                else w.WriteNull("recent_error");
                w.WriteBoolean("retrain_advised", info.RetrainAdvised);
                w.WriteStartArray("fields");
                foreach (var field in store.Fields)
                {
                    w.WriteStartObject();
                    w.WriteString("name", field.Name);
                    w.WriteString("type", field.TypeName);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                var parts = info.BytesPerEntry;
                w.WriteStartObject("bytes_per_entry");
                w.WriteNumber("codes", Math.Round(parts.Codes, 2));
                w.WriteNumber("rows", Math.Round(parts.Rows, 2));
                w.WriteNumber("ids", Math.Round(parts.Ids, 2));
                w.WriteNumber("payloads", Math.Round(parts.Payloads, 2));
                w.WriteNumber("log", Math.Round(parts.Log, 2));
                w.WriteNumber("other", Math.Round(parts.Other, 2));
                w.WriteEndObject();
                w.WriteEndObject();
            }, indented: true);
            return 0;
        }
        var grid = new Grid().AddColumn().AddColumn();
        void Row(string name, string value) => grid.AddRow(new Text(name), new Text(value));
        Row("store", store.StorePath);
        Row("entries", $"{info.Count:N0}");
        Row("vectors", $"{info.Dimension}-dimensional, metric {info.Metric.ToShortName()}");
        Row("index", $"IVFPQ, nlist {info.NList}, m {info.M} ({info.Codes}{(info.Opq ? ", OPQ rotation" : "")})");
        Row("fields", FieldSupport.Describe(store.Fields));
        Row("re-rank vectors", info.StoreVectors ? $"kept ({info.Rows})" : "not kept");
        Row("trained", info.Trained ? "yes" : $"no (searches are exact; it trains at {threshold:N0} entries)");
        Row("segments", $"{info.Segments} ({info.SealedEntries:N0} sealed entries)");
        Row("deleted", $"{info.DeletedEntries:N0} (reclaimed by 'ev compact')");
        Row("buffered", $"{info.BufferedEntries:N0} (in the log, not yet sealed)");
        Row("on disk", StoreSupport.Bytes(info.BytesOnDisk));
        if (info.Trained)
            Row("lists", $"largest {info.LargestList:N0}, mean {info.MeanList:N1}, empty {info.EmptyLists:N0}"
                + (info.RetrainAdvised ? " — retraining advised ('ev retrain')" : ""));
        var p = info.BytesPerEntry;
        Row("bytes an entry", $"codes {p.Codes:F1}, rows {p.Rows:F1}, ids {p.Ids:F1}, payloads {p.Payloads:F1}, log {p.Log:F1}, other {p.Other:F1}");
        AnsiConsole.Write(grid);
        return 0;
    }
}
