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
