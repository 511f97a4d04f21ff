using Microsoft.Extensions.VectorData;

namespace EmbeddedVectors.VectorData.Tests;

public sealed class CollectionTests : StoreTest
{
    [Fact]
    public async Task CreateListCheckAndDeleteCollections()
    {
        Assert.Empty(await Store.ListCollectionNamesAsync().ToListAsync());
        var b = Store.GetCollection<long, NoDataRecord>("b-collection");
        var a = Store.GetCollection<long, NoDataRecord>("a.collection");
        Assert.False(await b.CollectionExistsAsync());
        Assert.False(await Store.CollectionExistsAsync("b-collection"));
        await b.EnsureCollectionExistsAsync();
        await b.EnsureCollectionExistsAsync(); // twice is fine
        await a.EnsureCollectionExistsAsync();
        Directory.CreateDirectory(Path.Combine(Dir.Path, "not-a-store"));
        Assert.Equal(["a.collection", "b-collection"], await Store.ListCollectionNamesAsync().ToListAsync());
        Assert.True(await Store.CollectionExistsAsync("b-collection"));

        await b.UpsertAsync(new NoDataRecord { Key = 1, Vector = [1, 2, 3] });
        // Another collection object of the same name shares the open store.
        var sameB = Store.GetCollection<long, NoDataRecord>("b-collection");
        Assert.NotNull(await sameB.GetAsync(1));

        await Store.EnsureCollectionDeletedAsync("b-collection");
        Assert.False(await b.CollectionExistsAsync());
        Assert.False(Directory.Exists(Path.Combine(Dir.Path, "b-collection")));
        Assert.Null(await sameB.GetAsync(1)); // reads of a missing collection find nothing
        Assert.Empty(await sameB.GetAsync(_ => true, 10).ToListAsync());
        await Assert.ThrowsAsync<VectorStoreException>(() => sameB.SearchAsync(new float[] { 1, 0, 0 }, 1).ToListAsync());
        await Store.EnsureCollectionDeletedAsync("b-collection"); // deleting a missing collection is fine
        await a.EnsureCollectionDeletedAsync();
        Assert.Empty(await Store.ListCollectionNamesAsync().ToListAsync());

        // Recreated, it starts empty.
        await b.EnsureCollectionExistsAsync();
        Assert.Null(await b.GetAsync(1));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("..")]
    [InlineData("x..y")]
    [InlineData(".hidden")]
    [InlineData(" padded")]
    [InlineData("nul\0char")]
    public async Task InvalidCollectionNamesAreRefused(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => Store.GetCollection<long, NoDataRecord>(name));
        Assert.Contains("collection name", e.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => Store.CollectionExistsAsync(name));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.EnsureCollectionDeletedAsync(name));
    }

    [Fact]
    public async Task MetadataThroughGetService()
    {
        var storeMetadata = (VectorStoreMetadata?)Store.GetService(typeof(VectorStoreMetadata));
        Assert.Equal("embeddedvectors", storeMetadata!.VectorStoreSystemName);
        Assert.Equal(Store.Directory, storeMetadata.VectorStoreName);
        Assert.Same(Store, Store.GetService(typeof(VectorStore)));
        Assert.Null(Store.GetService(typeof(VectorStoreMetadata), "key"));
        var collection = Store.GetCollection<long, NoDataRecord>("meta");
        var metadata = (VectorStoreCollectionMetadata?)collection.GetService(typeof(VectorStoreCollectionMetadata));
        Assert.Equal("meta", metadata!.CollectionName);
        Assert.Equal("embeddedvectors", metadata.VectorStoreSystemName);
        Assert.Null(collection.GetService(typeof(EmbeddedVectorStore)));
        await collection.EnsureCollectionExistsAsync();
        var inner = (EmbeddedVectorStore?)collection.GetService(typeof(EmbeddedVectorStore));
        Assert.Equal(3, inner!.Dimension);
        Assert.Same(collection, collection.GetService(typeof(IVectorSearchable<NoDataRecord>)));
    }

    [Fact]
    public async Task AnExistingCollectionMustFitTheRecordDefinition()
    {
        await Store.GetCollection<long, NoDataRecord>("shape").EnsureCollectionExistsAsync();
        var other = Store.GetCollection<long, LongRecord>("shape"); // 4 dimensions, not 3
        var e = await Assert.ThrowsAsync<VectorStoreException>(() => other.GetAsync(1));
        Assert.Contains("4", e.Message);
        Assert.Contains("3 dimensions", e.Message);
    }

    public sealed class BookV1
    {
        [VectorStoreKey] public long Key { get; set; }
        [VectorStoreData(IsIndexed = true)] public string Title { get; set; } = "";
        [VectorStoreVector(3, DistanceFunction = DistanceFunction.EuclideanSquaredDistance, IndexKind = IndexKind.Flat)] public float[] Vector { get; set; } = [];
    }

    /// <summary>BookV1 with a filterable property added, as an app's next version would have it.</summary>
    public sealed class BookV2
    {
        [VectorStoreKey] public long Key { get; set; }
        [VectorStoreData(IsIndexed = true)] public string Title { get; set; } = "";
        [VectorStoreData(IsIndexed = true)] public int? Year { get; set; }
        [VectorStoreVector(3, DistanceFunction = DistanceFunction.EuclideanSquaredDistance, IndexKind = IndexKind.Flat)] public float[] Vector { get; set; } = [];
    }

    /// <summary>BookV1 with the type of its filterable property changed.</summary>
    public sealed class BookWithNumericTitle
    {
        [VectorStoreKey] public long Key { get; set; }
        [VectorStoreData(IsIndexed = true)] public long Title { get; set; }
        [VectorStoreVector(3, DistanceFunction = DistanceFunction.EuclideanSquaredDistance, IndexKind = IndexKind.Flat)] public float[] Vector { get; set; } = [];
    }

    [Fact]
    public async Task AFilterablePropertyAddedToTheRecordIsAddedToTheStore()
    {
        var v1 = Store.GetCollection<long, BookV1>("books");
        await v1.EnsureCollectionExistsAsync();
        await v1.UpsertAsync(Enumerable.Range(0, 20).Select(i => new BookV1 { Key = i, Title = $"t{i % 4}", Vector = [i, 0, 0] }));

        // The next version of the app: its record has a filterable Year; the store gains the field on first use.
        var v2 = Store.GetCollection<long, BookV2>("books");
        Assert.Null((await v2.GetAsync(3))!.Year);
        var inner = (EmbeddedVectorStore)v2.GetService(typeof(EmbeddedVectorStore))!;
        Assert.Equal(["Title", "Year"], inner.Fields.Select(field => field.Name));
        await v2.UpsertAsync(Enumerable.Range(20, 20).Select(i => new BookV2 { Key = i, Title = $"t{i % 4}", Year = 1990 + i, Vector = [i, 0, 0] }));

        var recent = await v2.SearchAsync(new float[] { 0, 0, 0 }, 5, new() { Filter = b => b.Year >= 2020 }).ToListAsync();
        Assert.Equal([30L, 31, 32, 33, 34], recent.Select(hit => hit.Record.Key));
        var undated = await v2.GetAsync(b => b.Year == null && b.Title == "t1", 100).ToListAsync();
        Assert.Equal([1L, 5, 9, 13, 17], undated.Select(book => book.Key).Order());
        // The old record type still reads the collection.
        Assert.Equal(10, (await Store.GetCollection<long, BookV1>("books").GetAsync(b => b.Title == "t2", 100).ToListAsync()).Count);

        var changed = Store.GetCollection<long, BookWithNumericTitle>("books");
        var e = await Assert.ThrowsAsync<VectorStoreException>(() => changed.GetAsync(1));
        Assert.Contains("field 'Title' is string, the record's is long", e.Message);
    }

    [Fact]
    public void StandAloneCollectionsOwnTheirStore()
    {
        using (var c = new EmbeddedVectorsCollection<long, NoDataRecord>(Path.Combine(Dir.Path, "alone"), "c1"))
        {
            c.EnsureCollectionExistsAsync().GetAwaiter().GetResult();
            c.UpsertAsync(new NoDataRecord { Key = 5, Vector = [1, 1, 1] }).GetAwaiter().GetResult();
        }
        using var again = new EmbeddedVectorsCollection<long, NoDataRecord>(Path.Combine(Dir.Path, "alone"), "c1");
        Assert.NotNull(again.GetAsync(5).GetAwaiter().GetResult());
    }

    public sealed class TwoVectors
    {
        [VectorStoreKey] public long Key { get; set; }
        [VectorStoreVector(3)] public float[] A { get; set; } = [];
        [VectorStoreVector(3)] public float[] B { get; set; } = [];
    }

    public sealed class ShortKey
    {
        [VectorStoreKey] public short Key { get; set; }
        [VectorStoreVector(3)] public float[] A { get; set; } = [];
    }

    public sealed class Manhattan
    {
        [VectorStoreKey] public long Key { get; set; }
        [VectorStoreVector(3, DistanceFunction = DistanceFunction.ManhattanDistance)] public float[] A { get; set; } = [];
    }

    public sealed class Hnsw
    {
        [VectorStoreKey] public long Key { get; set; }
        [VectorStoreVector(3, IndexKind = IndexKind.Hnsw)] public float[] A { get; set; } = [];
    }

    public sealed class DoubleVector
    {
        [VectorStoreKey] public long Key { get; set; }
        [VectorStoreVector(3)] public double[] A { get; set; } = [];
    }

    public sealed class IndexedObject
    {
        [VectorStoreKey] public long Key { get; set; }
        [VectorStoreData(IsIndexed = true)] public int[] Numbers { get; set; } = [];
        [VectorStoreVector(3)] public float[] A { get; set; } = [];
    }

    [Fact]
    public void UnsupportedRecordShapesAreRefusedAtCollectionCreation()
    {
        Assert.Contains("Multiple vector properties", Assert.Throws<NotSupportedException>(() => Store.GetCollection<long, TwoVectors>("two")).Message);
        Assert.Contains("ManhattanDistance", Assert.Throws<NotSupportedException>(() => Store.GetCollection<long, Manhattan>("m")).Message);
        Assert.Contains("Hnsw", Assert.Throws<NotSupportedException>(() => Store.GetCollection<long, Hnsw>("h")).Message);
        Assert.Contains("Int16", Assert.Throws<NotSupportedException>(() => Store.GetCollection<short, ShortKey>("s")).Message);
        Assert.Contains("Numbers", Assert.Throws<NotSupportedException>(() => Store.GetCollection<long, IndexedObject>("o")).Message);
        Assert.Contains("Double[]", Assert.Throws<InvalidOperationException>(() => Store.GetCollection<long, DoubleVector>("d")).Message);
        Assert.ThrowsAny<Exception>(() => Store.GetCollection<int, NoDataRecord>("wrong-key-type"));
        Assert.Throws<NotSupportedException>(() => Store.GetCollection<object, Dictionary<string, object?>>("dyn"));
        Assert.Empty(Directory.GetDirectories(Dir.Path));
    }
}
