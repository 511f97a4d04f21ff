using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace EmbeddedVectors.VectorData.Tests;

/// <summary>A directory under the system temp folder, deleted with the object.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ev-vectordata-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// A deterministic embedding generator for tests: a text becomes 4 numbers (its length, its count of 'a', of 'b',
/// and 1), so texts with similar letters are near each other. Counts its calls.
/// </summary>
public sealed class LetterCountGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    public int Calls { get; private set; }

    public static float[] Embed(string text) => [text.Length, text.Count(c => c == 'a'), text.Count(c => c == 'b'), 1];

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        Calls++;
        return Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(values.Select(v => new Embedding<float>(Embed(v)))));
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose() { }
}

public static class AsyncList
{
    public static async Task<List<T>> ToListAsync<T>(this IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items) list.Add(item);
        return list;
    }
}

/// <summary>A record with one of each indexed data property type and a 3-dimensional vector.</summary>
public sealed class Hotel
{
    [VectorStoreKey] public long Id { get; set; }
    [VectorStoreData(IsIndexed = true)] public string Name { get; set; } = "";
    [VectorStoreData(IsIndexed = true)] public string? Chain { get; set; }
    [VectorStoreData(IsIndexed = true)] public int Rooms { get; set; }
    [VectorStoreData(IsIndexed = true)] public long? Visitors { get; set; }
    [VectorStoreData(IsIndexed = true)] public double Rating { get; set; }
    [VectorStoreData(IsIndexed = true)] public float Price { get; set; }
    [VectorStoreData(IsIndexed = true)] public bool Open { get; set; }
    [VectorStoreData(IsIndexed = true)] public bool? Parking { get; set; }
    [VectorStoreData(IsIndexed = true)] public DateTimeOffset Built { get; set; }
    [VectorStoreData(IsIndexed = true)] public DateTime? Renovated { get; set; }
    [VectorStoreData(IsIndexed = true)] public Guid Owner { get; set; }
    [VectorStoreData(IsIndexed = true)] public string[] Tags { get; set; } = [];
    [VectorStoreData(IsIndexed = true)] public List<string> Amenities { get; set; } = [];
    [VectorStoreData] public string Description { get; set; } = "";
    [VectorStoreVector(3, DistanceFunction = DistanceFunction.EuclideanSquaredDistance, IndexKind = IndexKind.Flat)]
    public float[]? Location { get; set; }
}

/// <summary>A vector store over a fresh temporary directory, for one test.</summary>
public abstract class StoreTest : IDisposable
{
    protected StoreTest() => Store = new EmbeddedVectorsVectorStore(Dir.Path);

    protected TempDirectory Dir { get; } = new();

    protected EmbeddedVectorsVectorStore Store { get; }

    public void Dispose()
    {
        Store.Dispose();
        Dir.Dispose();
    }
}
