using System.CommandLine;

namespace EmbeddedVectors.Cli.Commands;

/// <summary><c>ev get DIR ID</c>: prints one entry as JSON <c>{"id", "payload", "vector"}</c>.</summary>
internal sealed class GetCommand : Command
{
    private readonly Argument<string?> _directory = EvOptions.StoreDirectory();
    private readonly Argument<string?> _id = new("ID") { Description = "The entry's id.", Arity = ArgumentArity.ZeroOrOne };

    public GetCommand()
        : base("get", "Prints an entry as JSON {\"id\", \"payload\", \"vector\"}; exit 1 when there is none.")
    {
        Add(_directory);
        Add(_id);
        SetAction(Run);
    }

    private int Run(ParseResult args)
    {
        string directory = args.Require(_directory, "the store directory (ev get DIR ID)");
        long id = StoreSupport.ParseId(args.Require(_id, "the id (ev get DIR ID)"));
        using var store = StoreSupport.Open(directory, readOnly: true);
        var entry = store.Get(id);
        if (entry == null)
        {
            Console.Error.WriteLine($"ev: no entry with id {id}");
            return 1;
        }
        StoreSupport.PrintJson(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("id", entry.Id);
            w.WritePropertyName("payload");
            StoreSupport.WritePayload(w, entry.Payload);
            w.WriteStartArray("vector");
            foreach (float value in entry.Vector) w.WriteNumberValue(value);
            w.WriteEndArray();
            w.WriteEndObject();
        });
        return 0;
    }
}
