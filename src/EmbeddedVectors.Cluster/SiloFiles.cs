using System.Text.Json;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace EmbeddedVectors.Cluster;

/// <summary>Options of a silo that hosts shards.</summary>
public sealed class EmbeddedVectorsSiloOptions
{
    /// <summary>
    /// The directory on this silo's local disk holding its shards: <c>DataRoot/collection/shard-N</c>, and
    /// <c>DataRoot/collection/layout.json</c> for each collection with a shard here. Required.
    /// </summary>
    public string DataRoot { get; set; } = "";
}

/// <summary>
/// The files a silo keeps for its shards. <c>layout.json</c> (the collection's shard count and the silo of each shard)
/// lets any silo holding a shard tell a client where the others are; <c>shard.json</c> in a shard's directory is the
/// shard's marker, written after its store is created, so a directory without it is not a shard.
/// </summary>
internal sealed class SiloFiles(IOptions<EmbeddedVectorsSiloOptions> options, ILocalSiloDetails silo)
{
    private const string LayoutFile = "layout.json";
    private const string MarkerFile = "shard.json";

    /// <summary>Shards of one collection on this silo create and delete at once; the collection directory and its layout are shared.</summary>
    private readonly Lock _collectionFiles = new();

    public string SiloName => silo.Name;

    public string Root => string.IsNullOrWhiteSpace(options.Value.DataRoot)
        ? throw new InvalidOperationException($"Silo '{silo.Name}' hosts EmbeddedVectors shards but has no EmbeddedVectorsSiloOptions.DataRoot.")
        : Path.GetFullPath(options.Value.DataRoot);

    public string CollectionDirectory(string collection) => Path.Combine(Root, collection);

    public string ShardDirectory(string collection, int shard) => Path.Combine(CollectionDirectory(collection), $"shard-{shard}");

    public bool IsShard(string collection, int shard) => File.Exists(Path.Combine(ShardDirectory(collection, shard), MarkerFile));

    /// <summary>Writes the marker of a shard whose store now exists, and the collection's layout beside it.</summary>
    public void WriteShard(CollectionLayout layout, int shard)
    {
        lock (_collectionFiles)
        {
            WriteJson(Path.Combine(CollectionDirectory(layout.Collection), LayoutFile), new LayoutJson(layout.Collection, layout.ShardSilos));
            WriteJson(Path.Combine(ShardDirectory(layout.Collection, shard), MarkerFile), new MarkerJson(layout.Collection, shard, layout.ShardCount, silo.Name));
        }
    }

    /// <summary>The layout of a collection with a shard here, or null.</summary>
    public CollectionLayout? ReadLayout(string collection)
    {
        string path = Path.Combine(CollectionDirectory(collection), LayoutFile);
        if (!File.Exists(path)) return null;
        var json = JsonSerializer.Deserialize<LayoutJson>(File.ReadAllBytes(path))
            ?? throw new InvalidDataException($"{path} is empty.");
        return new CollectionLayout(json.Collection, json.ShardSilos);
    }

    public string[] Collections()
    {
        if (!Directory.Exists(Root)) return [];
        var names = new List<string>();
        foreach (var directory in Directory.EnumerateDirectories(Root))
            if (File.Exists(Path.Combine(directory, LayoutFile))) names.Add(Path.GetFileName(directory));
        names.Sort(StringComparer.Ordinal);
        return [.. names];
    }

    /// <summary>Deletes a shard's directory, and the collection's directory once no shard of it is left here.</summary>
    public void DeleteShard(string collection, int shard)
    {
        string directory = ShardDirectory(collection, shard);
        lock (_collectionFiles)
        {
            if (!Directory.Exists(directory)) return;
            // The marker goes first: a half-deleted shard is then no shard, never a shard with missing entries.
            File.Delete(Path.Combine(directory, MarkerFile));
            Directory.Delete(directory, recursive: true);
            string parent = CollectionDirectory(collection);
            if (!Directory.EnumerateDirectories(parent, "shard-*").Any()) Directory.Delete(parent, recursive: true);
        }
    }

    private static void WriteJson<T>(string path, T value)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Several shards of a collection on one silo write its layout at once: each through its own temporary file.
        string temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        {
            JsonSerializer.Serialize(stream, value);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    private sealed record LayoutJson(string Collection, string[] ShardSilos);

    private sealed record MarkerJson(string Collection, int Shard, int ShardCount, string Silo);
}

/// <summary>The catalog of one silo: the layouts of the collections with shards on its disk.</summary>
[OwnerSiloPlacement]
internal sealed class SiloCatalogGrain(SiloFiles files) : Grain, ISiloCatalogGrain
{
    public Task<CollectionLayout?> Find(string collection) => Task.FromResult(files.ReadLayout(collection));

    public Task<string[]> List() => Task.FromResult(files.Collections());
}
