using System.CommandLine;
using System.Diagnostics;

namespace EmbeddedVectors.Cli.Commands;

/// <summary><c>ev compact DIR</c>: rewrites the segments without deleted entries and trims the log.</summary>
internal sealed class CompactCommand : Command
{
    private readonly Argument<string?> _directory = EvOptions.StoreDirectory();

    public CompactCommand()
        : base("compact", "Rewrites the segments without deleted entries; prints sizes before and after.")
    {
        Add(_directory);
        SetAction(Run);
    }

    private int Run(ParseResult args)
    {
        string directory = args.Require(_directory, "the store directory (ev compact DIR)");
        using var store = StoreSupport.Open(directory, readOnly: false);
        var before = store.GetInfo();
        var clock = Stopwatch.StartNew();
        store.Compact();
        double seconds = clock.Elapsed.TotalSeconds;
        var after = store.GetInfo();
        Console.Out.WriteLine($"before: {Describe(before)}");
        Console.Out.WriteLine($"after:  {Describe(after)}");
        long saved = before.BytesOnDisk - after.BytesOnDisk;
        Console.Out.WriteLine($"Compacted in {seconds:F2} s; "
            + (saved >= 0 ? $"{StoreSupport.Bytes(saved)} freed." : $"the store grew by {StoreSupport.Bytes(-saved)}."));
        if (saved < 0)
            Console.Out.WriteLine("(The payload log gives disk space back a whole log segment file at a time, so a small store can grow when compacted; its segments no longer hold deleted entries.)");
        if (!after.Trained)
            Console.Out.WriteLine("The store is not trained yet: its entries live in the log until it is, so there was nothing to rewrite.");
        return 0;
    }

    private static string Describe(StoreInfo info)
        => $"{info.Count:N0} live entries, {info.DeletedEntries:N0} deleted, {info.BufferedEntries:N0} buffered, "
            + $"{info.Segments} segment{(info.Segments == 1 ? "" : "s")}, {StoreSupport.Bytes(info.BytesOnDisk)}";
}
