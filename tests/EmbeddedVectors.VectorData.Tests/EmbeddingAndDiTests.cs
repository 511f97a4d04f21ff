using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.VectorData;

namespace EmbeddedVectors.VectorData.Tests;

public sealed class EmbeddingAndDiTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public sealed class Note
    {
        [VectorStoreKey] public int Key { get; set; }
        [VectorStoreData(IsIndexed = true)] public string Kind { get; set; } = "";
        [VectorStoreVector(4, DistanceFunction = DistanceFunction.EuclideanSquaredDistance)] public string Text { get; set; } = "";
    }

    private static readonly string[] Texts = ["a", "aaaa", "bbbb", "abab", "aaaaaaaa", "b"];

    private static async Task CheckGeneratedEmbeddings(VectorStoreCollection<int, Note> notes, LetterCountGenerator generator)
    {
        await notes.EnsureCollectionExistsAsync();
        await notes.UpsertAsync(Texts.Select((t, i) => new Note { Key = i, Kind = i % 2 == 0 ? "even" : "odd", Text = t }).ToList());
        Assert.Equal(1, generator.Calls); // one call for the whole batch
        // The record keeps its text; the store holds the generated vector.
        Assert.Equal("abab", (await notes.GetAsync(3))!.Text);
        var inner = (EmbeddedVectorStore)notes.GetService(typeof(EmbeddedVectorStore))!;
        Assert.Equal(LetterCountGenerator.Embed("abab"), inner.Get(3)!.Vector);
        // Searching with text embeds the query with the same generator.
        var hits = await notes.SearchAsync("aaa", 2).ToListAsync();
        Assert.Equal(["aaaa", "abab"], hits.Select(h => h.Record.Text));
        Assert.Equal(2.0, hits[0].Score!.Value, 5); // |(3,3,0,1) - (4,4,0,1)|² = 1 + 1
        var filtered = await notes.SearchAsync("aaa", 2, new() { Filter = n => n.Kind == "even" }).ToListAsync();
        Assert.Equal(["a", "bbbb"], filtered.Select(h => h.Record.Text));
        // A vector is searchable too, and vectors cannot be included when they are generated.
        var byVector = await notes.SearchAsync(new float[] { 1, 0, 1, 1 }, 1).ToListAsync();
        Assert.Equal("b", byVector.Single().Record.Text);
        await Assert.ThrowsAsync<NotSupportedException>(() => notes.GetAsync(1, new() { IncludeVectors = true }));
        await Assert.ThrowsAsync<NotSupportedException>(() => notes.SearchAsync("a", 1, new() { IncludeVectors = true }).ToListAsync());
    }

    [Fact]
    public async Task GeneratorConfiguredOnTheStore()
    {
        var generator = new LetterCountGenerator();
        using var store = new EmbeddedVectorsVectorStore(_dir.Path, new() { EmbeddingGenerator = generator });
        await CheckGeneratedEmbeddings(store.GetCollection<int, Note>("notes"), generator);
    }

    [Fact]
    public async Task GeneratorConfiguredOnTheCollection()
    {
        var generator = new LetterCountGenerator();
        using var notes = new EmbeddedVectorsCollection<int, Note>(_dir.Path, "notes", new() { EmbeddingGenerator = generator });
        await CheckGeneratedEmbeddings(notes, generator);
    }

    [Fact]
    public async Task GeneratorConfiguredOnTheProperty()
    {
        var generator = new LetterCountGenerator();
        var definition = new VectorStoreCollectionDefinition
        {
            Properties =
            [
                new VectorStoreKeyProperty(nameof(Note.Key), typeof(int)),
                new VectorStoreDataProperty(nameof(Note.Kind), typeof(string)) { IsIndexed = true },
                new VectorStoreVectorProperty(nameof(Note.Text), typeof(string), 4)
                {
                    DistanceFunction = DistanceFunction.EuclideanSquaredDistance,
                    EmbeddingGenerator = generator,
                },
            ],
        };
        using var store = new EmbeddedVectorsVectorStore(_dir.Path);
        await CheckGeneratedEmbeddings(store.GetCollection<int, Note>("notes", definition), generator);
    }

    [Fact]
    public void StringVectorWithoutGeneratorIsRefused()
    {
        using var store = new EmbeddedVectorsVectorStore(_dir.Path);
        Assert.Throws<InvalidOperationException>(() => store.GetCollection<int, Note>("notes"));
    }

    [Fact]
    public async Task TextSearchWithoutGeneratorIsRefused()
    {
        using var store = new EmbeddedVectorsVectorStore(_dir.Path);
        var c = store.GetCollection<long, NoDataRecord>("plain");
        await c.EnsureCollectionExistsAsync();
        await Assert.ThrowsAsync<NotSupportedException>(() => c.SearchAsync("text", 1).ToListAsync());
    }

    [Fact]
    public async Task DependencyInjectionRegistersStoreCollectionsAndTheContainersGenerator()
    {
        var generator = new LetterCountGenerator();
        var services = new ServiceCollection();
        services.AddSingleton<IEmbeddingGenerator>(generator);
        services.AddEmbeddedVectorStore(_dir.Path, new EmbeddedVectorsVectorStoreOptions { Index = new() { NProbe = 4 } });
        services.AddEmbeddedVectorStoreCollection<int, Note>("notes");
        using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<VectorStore>();
            Assert.IsType<EmbeddedVectorsVectorStore>(store);
            Assert.Same(store, provider.GetRequiredService<EmbeddedVectorsVectorStore>());
            var notes = provider.GetRequiredService<VectorStoreCollection<int, Note>>();
            Assert.Same(notes, provider.GetRequiredService<IVectorSearchable<Note>>());
            await CheckGeneratedEmbeddings(notes, generator);
            Assert.Equal(["notes"], await store.ListCollectionNamesAsync().ToListAsync());
        }
        // Disposing the container closed the stores: a new container opens the same data.
        var again = new ServiceCollection().AddSingleton<IEmbeddingGenerator>(generator).AddEmbeddedVectorStore(_dir.Path)
            .AddEmbeddedVectorStoreCollection<int, Note>("notes").BuildServiceProvider();
        using (again)
            Assert.Equal("bbbb", (await again.GetRequiredService<VectorStoreCollection<int, Note>>().GetAsync(2))!.Text);
        Assert.Throws<ArgumentException>(() => new ServiceCollection().AddEmbeddedVectorStoreCollection<int, Note>("../x"));
    }
}
