using System.CommandLine;

namespace EmbeddedVectors.Cli.Commands;

/// <summary><c>ev delete DIR ID...</c>: deletes entries, commits, and reports how many existed.</summary>
internal sealed class DeleteCommand : Command
{
    private readonly Argument<string?> _directory = EvOptions.StoreDirectory();
    private readonly Argument<string[]> _ids = new("ID") { Description = "The ids to delete.", Arity = ArgumentArity.ZeroOrMore };

    public DeleteCommand()
        : base("delete", "Deletes entries and commits.")
    {
        Add(_directory);
        Add(_ids);
        SetAction(Run);
    }

    private int Run(ParseResult args)
    {
        string directory = args.Require(_directory, "the store directory (ev delete DIR ID...)");
        var ids = (args.GetValue(_ids) ?? []).Select(StoreSupport.ParseId).ToList();
        if (ids.Count == 0) throw new UserErrorException("Missing the ids to delete (ev delete DIR ID...).");
        using var store = StoreSupport.Open(directory, readOnly: false);
        var missing = new List<long>();
        int deleted = 0;
        foreach (long id in ids)
        {
            if (store.Delete(id)) deleted++;
            else missing.Add(id);
        }
        store.Commit();
        Console.Out.WriteLine($"deleted {deleted} of {ids.Count} id{(ids.Count == 1 ? "" : "s")}; committed");
        if (missing.Count > 0)
        {
            const int Listed = 20;
            string list = string.Join(", ", missing.Take(Listed)) + (missing.Count > Listed ? $", … ({missing.Count - Listed} more)" : "");
            Console.Out.WriteLine($"no entry with id {list}");
        }
        Console.Out.WriteLine($"The store holds {store.Count:N0} entries.");
        return 0;
    }
}
