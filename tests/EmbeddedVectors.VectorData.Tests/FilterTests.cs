using System.Linq.Expressions;
using Microsoft.Extensions.VectorData;

namespace EmbeddedVectors.VectorData.Tests;

/// <summary>
/// Every filter is checked against LINQ to objects over the same records (the exact oracle), through both
/// GetAsync(filter) and SearchAsync (exact Flat index, so the filtered top-k is known).
/// </summary>
public sealed class FilterTests : IAsyncLifetime
{
    private static readonly string[] Names = ["Grand", "O'Brien's Inn", "'; DROP TABLE hotels; --", "Sea \"View\"", "Alpine", "grand"];
    private static readonly string?[] Chains = ["Hilton", null, "Accor", "Marriott"];
    private static readonly string[] AllTags = ["pool", "spa", "gym", "bar"];
    private readonly TempDirectory _dir = new();
    private readonly EmbeddedVectorsVectorStore _store;
    private readonly VectorStoreCollection<long, Hotel> _hotels;
    private readonly List<Hotel> _all = [];

    public FilterTests()
    {
        _store = new EmbeddedVectorsVectorStore(_dir.Path);
        _hotels = _store.GetCollection<long, Hotel>("hotels");
    }

    public async Task InitializeAsync()
    {
        var random = new Random(11);
        var baseDate = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (int i = 0; i < 60; i++)
        {
            _all.Add(new Hotel
            {
                Id = 1000 + i * 7,
                Name = Names[i % Names.Length],
                Chain = Chains[i % Chains.Length],
                Rooms = random.Next(1, 200),
                Visitors = i % 5 == 0 ? null : random.Next(0, 10_000),
                Rating = Math.Round(random.NextDouble() * 5, 1),
                Price = random.Next(50, 500) + 0.5f,
                Open = i % 3 != 0,
                Parking = i % 4 == 0 ? null : i % 4 == 1,
                Built = baseDate.AddDays(random.Next(0, 9000)),
                Renovated = i % 6 == 0 ? null : new DateTime(2010, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddDays(i * 30),
                Owner = new Guid(i % 3 + 1, 0, 0, new byte[8]),
                Tags = AllTags.Where((_, t) => (i >> t & 1) == 1).ToArray(),
                Amenities = AllTags.Where((_, t) => (i >> (t + 1) & 1) == 1).ToList(),
                Description = $"hotel {i}",
                Location = [(float)random.NextDouble(), (float)random.NextDouble(), (float)random.NextDouble()],
            });
        }
        await _hotels.EnsureCollectionExistsAsync();
        await _hotels.UpsertAsync(_all);
    }

    public Task DisposeAsync()
    {
        _store.Dispose();
        _dir.Dispose();
        return Task.CompletedTask;
    }

    private sealed class Holder
    {
        public Inner Inner { get; } = new();
        public int Rooms = 100;
    }

    private sealed class Inner
    {
        public string Chain { get; } = "Accor";
    }

    public static IEnumerable<object[]> Filters()
    {
        int rooms = 80;
        string quoted = "O'Brien's Inn";
        var holder = new Holder();
        var chains = new[] { "Hilton", "Marriott" };
        var chainList = new List<string?> { "Accor", null };
        var ids = new List<long> { 1000, 1007, 1014, 5 };
        var wanted = new[] { "spa", "bar" };
        var date = new DateTimeOffset(2010, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var owner = new Guid(2, 0, 0, new byte[8]);
        Expression<Func<Hotel, bool>>[] filters =
        [
            h => h.Rooms == 50,
            h => h.Rooms != 50,
            h => h.Rooms < 50,
            h => h.Rooms <= 50,
            h => h.Rooms > 150,
            h => h.Rooms >= 150,
            h => 150 <= h.Rooms,
            h => h.Rooms > rooms,
            h => h.Rooms > holder.Rooms,
            h => h.Chain == holder.Inner.Chain,
            h => h.Name == "Grand",
            h => h.Name == quoted,
            h => h.Name == "'; DROP TABLE hotels; --",
            h => h.Name == "Sea \"View\"",
            h => h.Name != "Grand",
            h => h.Chain == null,
            h => h.Chain != null,
            h => h.Chain != "Hilton",
            h => h.Visitors == null,
            h => h.Visitors > 5000,
            h => h.Visitors != 100,
            h => !(h.Visitors > 5000),
            h => h.Rating >= 2.5,
            h => h.Price < 200.5f,
            h => h.Open,
            h => !h.Open,
            h => h.Open == false,
            h => h.Parking == true,
            h => h.Parking == null,
            h => h.Parking != true,
            h => h.Built > date,
            h => h.Renovated < new DateTime(2012, 1, 1, 0, 0, 0, DateTimeKind.Utc),
            h => h.Renovated == null,
            h => h.Owner == owner,
            h => h.Tags.Contains("spa"),
            h => h.Amenities.Contains("gym"),
            h => h.Tags.Any(t => wanted.Contains(t)),
            h => chains.Contains(h.Chain!),
            h => chainList.Contains(h.Chain),
            h => ids.Contains(h.Id),
            h => new[] { 10, 20, 30 }.Contains(h.Rooms),
            h => h.Id == 1007,
            h => h.Id > 1200,
            h => h.Rooms > 50 && h.Open,
            h => h.Rooms > 150 || h.Chain == "Accor",
            h => !(h.Rooms > 50 && h.Tags.Contains("pool")) || h.Name == "Alpine",
            h => true,
            h => false,
        ];
        return filters.Select(f => new object[] { f });
    }

    [Theory]
    [MemberData(nameof(Filters))]
    public async Task GetWithFilterReturnsExactlyTheMatchingRecords(Expression<Func<Hotel, bool>> filter)
    {
        var expected = _all.Where(filter.Compile()).Select(h => h.Id).Order().ToList();
        var actual = await _hotels.GetAsync(filter, 1000).ToListAsync();
        Assert.Equal(expected, actual.Select(h => h.Id).Order().ToList());
    }

    [Theory]
    [MemberData(nameof(Filters))]
    public async Task SearchWithFilterReturnsTheNearestMatches(Expression<Func<Hotel, bool>> filter)
    {
        float[] query = [0.5f, 0.2f, 0.9f];
        var expected = _all.Where(filter.Compile())
            .OrderBy(h => Distance(query, h.Location!)).ThenBy(h => h.Id).Take(5).Select(h => h.Id).ToList();
        var actual = await _hotels.SearchAsync(query, 5, new VectorSearchOptions<Hotel> { Filter = filter }).ToListAsync();
        Assert.Equal(expected, actual.Select(r => r.Record.Id).ToList());
    }

    [Fact]
    public async Task UnsupportedConstructsAreRefusedByName()
    {
        var startsWith = await Assert.ThrowsAsync<NotSupportedException>(() => _hotels.GetAsync(h => h.Name.StartsWith("G"), 10).ToListAsync());
        Assert.Contains("StartsWith", startsWith.Message);
        var notIndexed = await Assert.ThrowsAsync<NotSupportedException>(() => _hotels.GetAsync(h => h.Description == "x", 10).ToListAsync());
        Assert.Contains("Description", notIndexed.Message);
        Assert.Contains("not indexed", notIndexed.Message);
        var arithmetic = await Assert.ThrowsAsync<NotSupportedException>(() => _hotels.GetAsync(h => h.Rooms + 1 == 5, 10).ToListAsync());
        Assert.Contains("Rooms", arithmetic.Message);
        var twoProperties = await Assert.ThrowsAsync<NotSupportedException>(() => _hotels.GetAsync(h => h.Rooms == h.Visitors, 10).ToListAsync());
        Assert.Contains("comparison", twoProperties.Message);
    }

    [Fact]
    public async Task GetWithFilterPagesAndOrders()
    {
        var byRoomsDescending = await _hotels.GetAsync(h => h.Open, 5, new FilteredRecordRetrievalOptions<Hotel>
        {
            Skip = 3,
            OrderBy = o => o.Descending(h => h.Rooms).Ascending(h => h.Id),
        }).ToListAsync();
        var expected = _all.Where(h => h.Open).OrderByDescending(h => h.Rooms).ThenBy(h => h.Id).Skip(3).Take(5).Select(h => h.Id);
        Assert.Equal(expected, byRoomsDescending.Select(h => h.Id));

        var byName = await _hotels.GetAsync(h => h.Rooms > 0, 100, new() { OrderBy = o => o.Ascending(h => h.Chain).Ascending(h => h.Id) }).ToListAsync();
        Assert.Equal(_all.OrderBy(h => h.Chain, StringComparer.Ordinal).ThenBy(h => h.Id).Select(h => h.Id), byName.Select(h => h.Id));

        // Without OrderBy, pages follow the key order, so consecutive pages cover the matches once.
        var first = await _hotels.GetAsync(h => h.Rooms > 20, 10).ToListAsync();
        var second = await _hotels.GetAsync(h => h.Rooms > 20, 10, new() { Skip = 10 }).ToListAsync();
        var matching = _all.Where(h => h.Rooms > 20).Select(h => h.Id).Order().ToList();
        Assert.Equal(matching.Take(20), first.Concat(second).Select(h => h.Id));
        Assert.All(first, h => Assert.Null(h.Location));
        var withVectors = await _hotels.GetAsync(h => h.Id == 1007, 1, new() { IncludeVectors = true }).ToListAsync();
        Assert.Equal(_all.Single(h => h.Id == 1007).Location, withVectors.Single().Location);
    }

    private static float Distance(float[] a, float[] b)
    {
        float sum = 0;
        for (int i = 0; i < a.Length; i++) sum += (a[i] - b[i]) * (a[i] - b[i]);
        return sum;
    }
}
