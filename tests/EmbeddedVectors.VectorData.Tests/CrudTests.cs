using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace EmbeddedVectors.VectorData.Tests;

public sealed class LongRecord
{
    [VectorStoreKey] public long Key { get; set; }
    [VectorStoreData(IsIndexed = true)] public string Text { get; set; } = "";
    [VectorStoreVector(4, DistanceFunction = DistanceFunction.CosineSimilarity)] public ReadOnlyMemory<float> Vector { get; set; }
}

public sealed class IntRecord
{
    [VectorStoreKey] public int Key { get; set; }
    [VectorStoreData(IsIndexed = true)] public string Text { get; set; } = "";
    [VectorStoreVector(4, DistanceFunction = DistanceFunction.DotProductSimilarity)] public float[] Vector { get; set; } = [];
}

public sealed class GuidRecord
{
    [VectorStoreKey] public Guid Key { get; set; }
    [VectorStoreData(IsIndexed = true)] public string Text { get; set; } = "";
    [VectorStoreVector(4, DistanceFunction = DistanceFunction.EuclideanSquaredDistance)] public Embedding<float>? Vector { get; set; }
}

public sealed class StringRecord
{
    [VectorStoreKey] public string Key { get; set; } = "";
    [VectorStoreData(IsIndexed = true)] public string Text { get; set; } = "";
    [VectorStoreVector(4, DistanceFunction = DistanceFunction.CosineDistance, IndexKind = IndexKind.Flat)] public ReadOnlyMemory<float>? Vector { get; set; }
}

public sealed class NoDataRecord
{
    [VectorStoreKey] public long Key { get; set; }
    [VectorStoreVector(3)] public float[] Vector { get; set; } = [];
}

public sealed class CrudTests : StoreTest
{
    private static float[] VectorOf(int i) => [1 + i, (i * 7) % 5 + 0.5f, (i * 3) % 4 - 1.5f, 0.25f * i];

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5f * Math.Max(1, Math.Abs(expected[i])));
    }

    [Fact]
    public async Task LongKeys()
    {
        var c = Store.GetCollection<long, LongRecord>("longs");
        await c.EnsureCollectionExistsAsync();
        await c.UpsertAsync(Enumerable.Range(0, 20).Select(i => new LongRecord { Key = i * 1_000_000_000_000L - 5, Text = $"text {i}", Vector = VectorOf(i) }).ToList());
        var got = await c.GetAsync(3 * 1_000_000_000_000L - 5, new() { IncludeVectors = true });
        Assert.Equal("text 3", got!.Text);
        AssertClose(VectorOf(3), got.Vector.ToArray()); // cosine: the stored unit vector is scaled back to the length written
        Assert.Equal(["text 2"], (await c.GetAsync(r => r.Key == 2 * 1_000_000_000_000L - 5, 5).ToListAsync()).Select(r => r.Text));
        await CheckCrud(c, i => i * 1_000_000_000_000L - 5, r => r.Key, r => r.Text);
    }

    [Fact]
    public async Task IntKeys()
    {
        var c = Store.GetCollection<int, IntRecord>("ints");
        await c.EnsureCollectionExistsAsync();
        await c.UpsertAsync(Enumerable.Range(0, 20).Select(i => new IntRecord { Key = -i, Text = $"text {i}", Vector = VectorOf(i) }).ToList());
        var got = await c.GetAsync(-4, new() { IncludeVectors = true });
        Assert.Equal(VectorOf(4), got!.Vector);
        Assert.Equal([-19, -18], (await c.GetAsync(r => r.Key < -17, 5).ToListAsync()).Select(r => r.Key));
        await CheckCrud(c, i => -i, r => r.Key, r => r.Text);
    }

    [Fact]
    public async Task GuidKeys()
    {
        var c = Store.GetCollection<Guid, GuidRecord>("guids");
        await c.EnsureCollectionExistsAsync();
        var keys = Enumerable.Range(0, 60).Select(i => new Guid(i + 1, 2, 3, new byte[8])).ToArray();
        await c.UpsertAsync(Enumerable.Range(0, 20).Select(i => new GuidRecord { Key = keys[i], Text = $"text {i}", Vector = new(VectorOf(i)) }).ToList());
        var got = await c.GetAsync(keys[7], new() { IncludeVectors = true });
        Assert.Equal(VectorOf(7), got!.Vector!.Vector.ToArray());
        Assert.Equal(["text 5"], (await c.GetAsync(r => r.Key == keys[5], 5).ToListAsync()).Select(r => r.Text));
        await CheckCrud(c, i => keys[i], r => r.Key, r => r.Text);
    }

    [Fact]
    public async Task StringKeys()
    {
        var c = Store.GetCollection<string, StringRecord>("strings");
        await c.EnsureCollectionExistsAsync();
        string Key(int i) => i == 1 ? "" : i == 2 ? "ünïcödé ✓ 'quoted'" : $"key-{i}";
        await c.UpsertAsync(Enumerable.Range(0, 20).Select(i => new StringRecord { Key = Key(i), Text = $"text {i}", Vector = VectorOf(i) }).ToList());
        Assert.Equal("text 2", (await c.GetAsync(Key(2)))!.Text);
        Assert.Equal("text 1", (await c.GetAsync(""))!.Text);
        var keyFilter = await c.GetAsync(r => r.Key == "ünïcödé ✓ 'quoted'" || r.Key == "key-9", 5).ToListAsync();
        Assert.Equal(["text 2", "text 9"], keyFilter.Select(r => r.Text).Order());
        await CheckCrud(c, Key, r => r.Key, r => r.Text);
    }

    /// <summary>Update in place, delete single and batch, count through an unfiltered GetAsync, and reopen from disk.</summary>
    private async Task CheckCrud<TKey, TRecord>(VectorStoreCollection<TKey, TRecord> c, Func<int, TKey> key, Func<TRecord, TKey> keyOf, Func<TRecord, string> textOf)
        where TKey : notnull
        where TRecord : class
    {
        var record = (await c.GetAsync(key(4), new() { IncludeVectors = true }))!;
        typeof(TRecord).GetProperty("Text")!.SetValue(record, "changed");
        await c.UpsertAsync(record);
        Assert.Equal("changed", textOf((await c.GetAsync(key(4)))!));
        Assert.Equal(20, (await c.GetAsync(_ => true, 100).ToListAsync()).Count);
        await c.DeleteAsync(key(0));
        await c.DeleteAsync([key(1), key(2), key(50)]);
        Assert.Null(await c.GetAsync(key(1)));
        var left = await c.GetAsync(_ => true, 100).ToListAsync();
        Assert.Equal(17, left.Count);
        Assert.DoesNotContain(left, r => keyOf(r).Equals(key(2)));

        // A new vector store over the same directory reads the same records back.
        Store.Dispose();
        using var reopened = new EmbeddedVectorsVectorStore(Dir.Path);
        var again = reopened.GetCollection<TKey, TRecord>(c.Name);
        Assert.Equal(17, (await again.GetAsync(_ => true, 100).ToListAsync()).Count);
        Assert.Equal("changed", textOf((await again.GetAsync(key(4)))!));
        Assert.Null(await again.GetAsync(key(0)));
    }

    [Fact]
    public async Task GeneratedGuidKeys()
    {
        var c = Store.GetCollection<Guid, AutoKeyRecord>("auto");
        await c.EnsureCollectionExistsAsync();
        var records = Enumerable.Range(0, 5).Select(i => new AutoKeyRecord { Vector = [i, 1] }).ToList();
        await c.UpsertAsync(records);
        Assert.All(records, r => Assert.NotEqual(Guid.Empty, r.Key));
        Assert.Equal(5, records.Select(r => r.Key).Distinct().Count());
        Assert.NotNull(await c.GetAsync(records[3].Key));
    }

    public sealed class AutoKeyRecord
    {
        [VectorStoreKey(IsAutoGenerated = true)] public Guid Key { get; set; }
        [VectorStoreVector(2, IndexKind = IndexKind.Flat)] public float[] Vector { get; set; } = [];
    }

    [Fact]
    public async Task RecordsWithNoDataFields()
    {
        var c = Store.GetCollection<long, NoDataRecord>("bare");
        await c.EnsureCollectionExistsAsync();
        await c.UpsertAsync([new NoDataRecord { Key = 1, Vector = [1, 0, 0] }, new NoDataRecord { Key = 2, Vector = [0, 1, 0] }]);
        var hits = await c.SearchAsync(new float[] { 0, 1, 0 }, 1, new() { IncludeVectors = true }).ToListAsync();
        Assert.Equal(2, hits.Single().Record.Key);
        Assert.Equal([0f, 1, 0], hits.Single().Record.Vector);
        Assert.Equal(1.0, hits.Single().Score!.Value, 5); // cosine similarity is the default
    }

    [Fact]
    public async Task BadRecordsAreRefusedWithClearMessages()
    {
        var c = Store.GetCollection<long, NoDataRecord>("bad");
        await Assert.ThrowsAsync<VectorStoreException>(() => c.UpsertAsync(new NoDataRecord { Key = 1, Vector = [1, 0, 0] }));
        await c.EnsureCollectionExistsAsync();
        var wrongLength = await Assert.ThrowsAsync<ArgumentException>(() => c.UpsertAsync(new NoDataRecord { Key = 1, Vector = [1, 0] }));
        Assert.Contains("2-dimensional", wrongLength.Message);
        var zero = await Assert.ThrowsAnyAsync<ArgumentException>(() => c.UpsertAsync(new NoDataRecord { Key = 1, Vector = [0, 0, 0] }));
        Assert.Contains("zero", zero.Message);
        Assert.Null(await c.GetAsync(1));
        await Assert.ThrowsAsync<ArgumentException>(() => c.SearchAsync(new float[] { 1, 0 }, 1).ToListAsync());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => c.SearchAsync(new float[] { 1, 0, 0 }, 0).ToListAsync());
    }
}
