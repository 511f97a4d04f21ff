using Microsoft.Extensions.VectorData;

namespace EmbeddedVectors.VectorData.Tests;

public sealed class SmokeTests
{
    [Fact]
    public async Task UpsertGetSearchDelete()
    {
        using var dir = new TempDirectory();
        using var store = new EmbeddedVectorsVectorStore(dir.Path);
        var hotels = store.GetCollection<long, Hotel>("hotels");
        await hotels.EnsureCollectionExistsAsync();
        await hotels.UpsertAsync(new Hotel { Id = 1, Name = "A", Tags = ["x"], Location = [1, 0, 0] });
        await hotels.UpsertAsync(new Hotel { Id = 2, Name = "B", Tags = ["y"], Location = [0, 1, 0] });
        var got = await hotels.GetAsync(1, new RecordRetrievalOptions { IncludeVectors = true });
        Assert.Equal("A", got!.Name);
        Assert.Equal([1f, 0, 0], got.Location);
        var results = await hotels.SearchAsync(new float[] { 0, 1, 0.1f }, 2).ToListAsync();
        Assert.Equal([2L, 1L], results.Select(r => r.Record.Id));
        var filtered = await hotels.SearchAsync(new float[] { 0, 1, 0.1f }, 2, new() { Filter = h => h.Tags.Contains("x") }).ToListAsync();
        Assert.Equal([1L], filtered.Select(r => r.Record.Id));
        await hotels.DeleteAsync(1);
        Assert.Null(await hotels.GetAsync(1));
    }
}
