namespace EmbeddedVectors.Cli.Commands;

/// <summary><c>ev get DIR ID</c>: prints one entry as JSON <c>{"id", "payload", "vector"}</c>.</summary>
internal static class GetCommand
{
    public static int Run(CommandLine args)
    {
        string directory = args.Positional(0, "the store directory (ev get DIR ID)");
        long id = StoreSupport.ParseId(args.Positional(1, "the id (ev get DIR ID)"));
        args.RejectUnknown(maxPositionals: 2);
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
