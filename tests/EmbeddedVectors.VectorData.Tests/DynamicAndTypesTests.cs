using Microsoft.Extensions.VectorData;

namespace EmbeddedVectors.VectorData.Tests;

public sealed class DynamicAndTypesTests : StoreTest
{
    [Fact]
    public async Task DynamicRecordsRoundTripFilterAndSearch()
    {
        var definition = new VectorStoreCollectionDefinition
        {
            Properties =
            [
                new VectorStoreKeyProperty("Id", typeof(string)),
                new VectorStoreDataProperty("Title", typeof(string)) { IsIndexed = true },
                new VectorStoreDataProperty("Year", typeof(int)) { IsIndexed = true, StorageName = "yearStored" },
                new VectorStoreDataProperty("Tags", typeof(List<string>)) { IsIndexed = true },
                new VectorStoreDataProperty("Notes", typeof(string)),
                new VectorStoreVectorProperty("Embedding", typeof(ReadOnlyMemory<float>), 3) { DistanceFunction = DistanceFunction.EuclideanSquaredDistance },
            ],
        };
        var c = Store.GetDynamicCollection("dynamic", definition);
        await c.EnsureCollectionExistsAsync();
        var records = Enumerable.Range(0, 10).Select(i => new Dictionary<string, object?>
        {
            ["Id"] = $"doc-{i}",
            ["Title"] = i % 2 == 0 ? "even" : "odd",
            ["Year"] = 2000 + i,
            ["Tags"] = new List<string> { $"t{i % 3}" },
            ["Notes"] = i == 3 ? null : $"note {i}",
            ["Embedding"] = new ReadOnlyMemory<float>([i, 0, 0]),
        }).ToList();
        await c.UpsertAsync(records);

        var got = await c.GetAsync("doc-3", new() { IncludeVectors = true });
        Assert.Equal("odd", got!["Title"]);
        Assert.Equal(2003, got["Year"]);
        Assert.Equal(["t0"], (List<string>)got["Tags"]!);
        Assert.Null(got["Notes"]);
        Assert.Equal([3f, 0, 0], ((ReadOnlyMemory<float>)got["Embedding"]!).ToArray());

        var filtered = await c.GetAsync(r => (int)r["Year"]! >= 2005 && (string)r["Title"]! == "even", 10).ToListAsync();
        Assert.Equal(["doc-6", "doc-8"], filtered.Select(r => (string)r["Id"]!).Order());
        var tagged = await c.SearchAsync(new ReadOnlyMemory<float>([4.2f, 0, 0]), 2, new() { Filter = r => ((List<string>)r["Tags"]!).Contains("t1") }).ToListAsync();
        Assert.Equal(["doc-4", "doc-7"], tagged.Select(r => (string)r.Record["Id"]!));
        await c.DeleteAsync("doc-4");
        Assert.Null(await c.GetAsync("doc-4"));
        await Assert.ThrowsAsync<ArgumentException>(() => c.GetAsync(42));
    }

    public sealed class AllTypes
    {
        [VectorStoreKey] public long Key { get; set; }
        [VectorStoreData] public string? Str { get; set; }
        [VectorStoreData] public int Int { get; set; }
        [VectorStoreData] public int? NullableInt { get; set; }
        [VectorStoreData] public long Long { get; set; }
        [VectorStoreData] public short Short { get; set; }
        [VectorStoreData] public byte Byte { get; set; }
        [VectorStoreData] public float Float { get; set; }
        [VectorStoreData] public double Double { get; set; }
        [VectorStoreData] public decimal Decimal { get; set; }
        [VectorStoreData] public bool Bool { get; set; }
        [VectorStoreData] public bool? NullableBool { get; set; }
        [VectorStoreData] public DateTime DateTime { get; set; }
        [VectorStoreData] public DateTimeOffset DateTimeOffset { get; set; }
        [VectorStoreData] public DateOnly DateOnly { get; set; }
        [VectorStoreData] public TimeOnly TimeOnly { get; set; }
        [VectorStoreData] public Guid Guid { get; set; }
        [VectorStoreData] public string[] StringArray { get; set; } = [];
        [VectorStoreData] public List<string> StringList { get; set; } = [];
        [VectorStoreData] public int[] IntArray { get; set; } = [];
        [VectorStoreData] public List<double> DoubleList { get; set; } = [];
        [VectorStoreData] public byte[] Bytes { get; set; } = [];
        [VectorStoreData] public Dictionary<string, int> Map { get; set; } = [];
        [VectorStoreData] public Nested? Nested { get; set; }
        [VectorStoreData(IsIndexed = true)] public short IndexedShort { get; set; }
        [VectorStoreData(IsIndexed = true)] public decimal IndexedDecimal { get; set; }
        [VectorStoreData(IsIndexed = true)] public IReadOnlyList<string> IndexedTags { get; set; } = [];
        [VectorStoreVector(2)] public float[] Vector { get; set; } = [];
    }

    public sealed record Nested(string Name, int[] Values);

    [Fact]
    public async Task EveryDataPropertyTypeRoundTrips()
    {
        var c = Store.GetCollection<long, AllTypes>("types");
        await c.EnsureCollectionExistsAsync();
        var record = new AllTypes
        {
            Key = 7, Str = "s 'q' \"d\" ✓", Int = -5, NullableInt = null, Long = long.MinValue, Short = -300, Byte = 200,
            Float = 1.25f, Double = Math.PI, Decimal = 12345.678901m, Bool = true, NullableBool = false,
            DateTime = new DateTime(2024, 2, 29, 13, 14, 15, DateTimeKind.Utc), DateTimeOffset = new DateTimeOffset(2023, 1, 2, 3, 4, 5, TimeSpan.FromHours(2)),
            DateOnly = new DateOnly(1999, 12, 31), TimeOnly = new TimeOnly(23, 59, 58), Guid = Guid.NewGuid(),
            StringArray = ["a", "b"], StringList = ["c"], IntArray = [1, 2, 3], DoubleList = [0.5, -1], Bytes = [0, 255, 7],
            Map = new() { ["x"] = 1 }, Nested = new("n", [4, 5]), IndexedShort = 12, IndexedDecimal = 2.5m, IndexedTags = ["p", "q"],
            Vector = [1, 2],
        };
        await c.UpsertAsync(record);
        var got = (await c.GetAsync(7))!;
        Assert.Equal(record.Str, got.Str);
        Assert.Equal((record.Int, record.NullableInt, record.Long, record.Short, record.Byte), (got.Int, got.NullableInt, got.Long, got.Short, got.Byte));
        Assert.Equal((record.Float, record.Double, record.Decimal, record.Bool, record.NullableBool), (got.Float, got.Double, got.Decimal, got.Bool, got.NullableBool));
        Assert.Equal((record.DateTime, record.DateTimeOffset, record.DateOnly, record.TimeOnly, record.Guid), (got.DateTime, got.DateTimeOffset, got.DateOnly, got.TimeOnly, got.Guid));
        Assert.Equal(record.StringArray, got.StringArray);
        Assert.Equal(record.StringList, got.StringList);
        Assert.Equal(record.IntArray, got.IntArray);
        Assert.Equal(record.DoubleList, got.DoubleList);
        Assert.Equal(record.Bytes, got.Bytes);
        Assert.Equal(record.Map, got.Map);
        Assert.Equal(record.Nested.Name, got.Nested!.Name);
        Assert.Equal(record.Nested.Values, got.Nested.Values);
        Assert.Equal(record.IndexedTags, got.IndexedTags);
        Assert.Single(await c.GetAsync(r => r.IndexedShort == 12 && r.IndexedDecimal > 2.4m && r.IndexedTags.Contains("q"), 5).ToListAsync());
        Assert.Empty(await c.GetAsync(r => r.IndexedDecimal > 2.5m, 5).ToListAsync());
    }

    public sealed class StringKeyed
    {
        [VectorStoreKey] public string Key { get; set; } = "";
        [VectorStoreData] public int Value { get; set; }
        [VectorStoreVector(2, IndexKind = IndexKind.Flat)] public float[] Vector { get; set; } = [];
    }

    /// <summary>
    /// Forced hash collisions (every key's home id is 100): keys take ids 100, 101, … in order, a lookup finds each,
    /// a delete leaves a gap later keys are still found past, a new key fills the first gap, and a 17th key that needs a
    /// 17th id is refused. The map is nothing but the entries, so reopening keeps all of it.
    /// </summary>
    [Fact]
    public async Task HashCollisionsProbeAndSurviveReopen()
    {
        string root = Path.Combine(Dir.Path, "collide");
        List<long> Ids(VectorStoreCollection<string, StringKeyed> c)
            => [.. ((EmbeddedVectorStore)c.GetService(typeof(EmbeddedVectorStore))!).FindIds()];
        using (var store = new EmbeddedVectorsVectorStore(root) { HomeIdForTests = _ => 100 })
        {
            var c = store.GetCollection<string, StringKeyed>("c");
            await c.EnsureCollectionExistsAsync();
            await c.UpsertAsync(Enumerable.Range(0, 10).Select(i => new StringKeyed { Key = $"k{i}", Value = i, Vector = [i, 1] }));
            Assert.Equal(Enumerable.Range(100, 10).Select(i => (long)i), Ids(c));
            for (int i = 0; i < 10; i++) Assert.Equal(i, (await c.GetAsync($"k{i}"))!.Value);
            await c.DeleteAsync("k3");
            Assert.Null(await c.GetAsync("k3"));
            Assert.Equal(9, (await c.GetAsync("k9"))!.Value); // found past the gap at 103
            await c.UpsertAsync(new StringKeyed { Key = "k9", Value = 99, Vector = [9, 1] }); // updates in place
            await c.UpsertAsync(new StringKeyed { Key = "new", Value = -1, Vector = [0, 1] }); // takes the gap
            Assert.Equal(Enumerable.Range(100, 10).Select(i => (long)i), Ids(c));
            Assert.Equal(99, (await c.GetAsync("k9"))!.Value);
            Assert.Equal(-1, (await c.GetAsync("new"))!.Value);
            await c.UpsertAsync(Enumerable.Range(10, 6).Select(i => new StringKeyed { Key = $"k{i}", Value = i, Vector = [i, 1] }));
            await Assert.ThrowsAsync<VectorStoreException>(() => c.UpsertAsync(new StringKeyed { Key = "one too many", Vector = [1, 1] }));
            Assert.Equal(16, (Ids(c)).Count);
        }
        using (var store = new EmbeddedVectorsVectorStore(root) { HomeIdForTests = _ => 100 })
        {
            var c = store.GetCollection<string, StringKeyed>("c");
            Assert.Equal(15, (await c.GetAsync("k15"))!.Value);
            Assert.Equal(-1, (await c.GetAsync("new"))!.Value);
            Assert.Null(await c.GetAsync("k3"));
            var page = await c.GetAsync(r => r.Key == "k12", 5).ToListAsync();
            Assert.Equal(12, page.Single().Value);
        }
    }
}
