using System.CommandLine;

namespace EmbeddedVectors.Cli.Commands;

/// <summary><c>ev fields DIR [--add NAME:TYPE]...</c>: lists a store's metadata fields, or declares more.</summary>
internal sealed class FieldsCommand : Command
{
    private readonly Argument<string?> _directory = EvOptions.StoreDirectory();
    private readonly Option<string[]> _add = FieldSupport.SpecOption("--add",
        $"Declares another indexed metadata field (repeatable), TYPE {FieldSupport.TypeList}. Entries already stored hold null in it until they are added again with the same id.");

    public FieldsCommand()
        : base("fields", "Lists the store's metadata fields; --add NAME:TYPE declares more (committed at once).")
    {
        Add(_directory);
        Add(_add);
        SetAction(Run);
    }

    private int Run(ParseResult args)
    {
        string directory = args.Require(_directory, "the store directory (ev fields DIR [--add NAME:TYPE])");
        var added = (args.GetValue(_add) ?? []).Select(FieldSupport.ParseSpec).ToArray();
        using var store = StoreSupport.Open(directory, readOnly: added.Length == 0);
        if (added.Length > 0)
        {
            try
            {
                store.AddFields(added);
            }
            catch (ArgumentException e)
            {
                // The library's message names the field (and, when it exists, its declared type).
                throw new UserErrorException($"--add: {e.Message}");
            }
            Console.Out.WriteLine($"added {FieldSupport.Describe(added)}; committed");
            if (store.Count > 0)
                Console.Out.WriteLine($"The {store.Count:N0} entries already stored hold null in {(added.Length == 1 ? "it" : "them")}; add them again with the same ids (ev add DIR --vectors F --payloads F.jsonl) to give them values.");
        }
        Console.Out.WriteLine($"fields: {FieldSupport.Describe(store.Fields)}");
        return 0;
    }
}
