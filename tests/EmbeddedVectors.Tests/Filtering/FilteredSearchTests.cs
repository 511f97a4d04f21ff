using EmbeddedVectors.Tests.Store;

namespace EmbeddedVectors.Tests.Filtering;

/// <summary>Filtered search against a brute-force oracle over the store's own vectors: min(k, matches) hits always, exact results when the plan is exact.</summary>
public class FilteredSearchTests
{
    private const int Dim = 16;

    private static readonly FieldDefinition[] Schema =
    [
        new("bucket", FieldType.Long), new("score", FieldType.Double), new("lang", FieldType.String),
        new("flag", FieldType.Bool), new("when", FieldType.Date), new("tags", FieldType.Tags),
    ];

    private static float[] Vectors(int n, int seed)
    {
        var random = new Random(seed);
        var v = new float[n * Dim];
        for (int i = 0; i < v.Length; i++) v[i] = (float)(random.NextDouble() * 2 - 1) + (i / Dim % 4) * 3;
        return v;
    }

    private static FieldValues Values(long id)
    {
        var values = new FieldValues().Set("bucket", id % 1000).Set("score", id * 0.5).Set("flag", id % 2 == 0)
            .Set("when", new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).AddDays(id % 365));
        if (id % 7 != 0) values.Set("lang", id % 3 == 0 ? "en" : "de");
        if (id % 5 != 0) values.Set("tags", id % 10 == 1 ? ["a", "b"] : ["c"]);
        return values;
    }

    private static EmbeddedVectorStore Build(TempStoreDirectory dir, int n, int seal, out float[] vectors, out Dictionary<long, float[]> live)
    {
        var store = EmbeddedVectorStore.Create(dir.Path, new EmbeddedVectorStoreOptions
        {
            Dimension = Dim, NList = 4, M = 4, TrainingThreshold = 256, SealThreshold = seal, Fields = Schema,
            Rows = RowEncoding.Float32, // exact plans are compared with a float32 oracle
        });
        vectors = Vectors(n, 1);
        var ids = new long[n];
        var fields = new FieldValues?[n];
        live = [];
        for (int i = 0; i < n; i++)
        {
            ids[i] = i;
            fields[i] = Values(i);
            live[i] = vectors.AsSpan(i * Dim, Dim).ToArray();
        }
        store.AddRange(ids, vectors, null, fields);
        return store;
    }

    /// <summary>FindIds lists exactly the live ids passing a filter, ascending, across sealed segments, their deletions and the buffer (and in an untrained store).</summary>
    [Theory]
    [InlineData(100)]
    [InlineData(1000)]
    public void FindIdsListsTheLiveMatches(int n)
    {
        using var dir = new TempStoreDirectory();
        using var store = Build(dir, n, seal: 300, out var vectors, out var live);
        Assert.Equal(n >= 256, store.IsTrained);
        for (long id = 0; id < n; id += 9)
        {
            store.Delete(id);
            live.Remove(id);
        }
        store.Add(5, vectors.AsSpan(0, Dim), "replaced"u8, Values(5)); // a replaced entry is listed once
        Assert.Equal(live.Keys.Order(), store.FindIds());
        var filter = Filter.Field("bucket") < 400L & (Filter.Tags("tags").Contains("c") | Filter.Field("lang").IsNull());
        var expected = live.Keys.Where(id => id % 1000 < 400 && (id % 5 != 0 && id % 10 != 1 || id % 7 == 0)).Order();
        Assert.Equal(expected, store.FindIds(filter));
        Assert.Empty(store.FindIds(Filter.Id(-1)));
        // Id comparisons, built or parsed: the same filter, shown as it was written.
        Assert.Equal(live.Keys.Where(id => id > 40 && id <= 90).Order(), store.FindIds(Filter.Id(FilterOperator.Greater, 40) & Filter.Id(FilterOperator.LessOrEqual, 90)));
        var parsed = Filter.Parse("id >= 12 and id < 30");
        Assert.Equal("(id >= 12 and id < 30)", parsed.ToString());
        Assert.Equal(live.Keys.Where(id => id is >= 12 and < 30).Order(), store.FindIds(parsed));
    }

    private static long[] Oracle(Dictionary<long, float[]> live, ReadOnlySpan<float> query, int k, Func<long, bool> matches, out long m)
    {
        var scored = new List<(float D, long Id)>();
        foreach (var (id, v) in live)
        {
            if (!matches(id)) continue;
            float d = 0;
            for (int j = 0; j < Dim; j++) d += (query[j] - v[j]) * (query[j] - v[j]);
            scored.Add((d, id));
        }
        m = scored.Count;
        scored.Sort();
        var top = new long[Math.Min(k, scored.Count)];
        for (int i = 0; i < top.Length; i++) top[i] = scored[i].Id;
        return top;
    }

    public static TheoryData<string> Filters() =>
    [
        "bucket == 7", "bucket < 10", "bucket < 100", "bucket >= 500", "bucket in (1, 2, 3)", "lang == 'en' and flag == true",
        "lang is null", "not (lang is null)", "tags contains 'a'", "tags contains any ('a', 'zz')", "score > 100.5 or bucket == 3",
        "when >= '2020-12-01'", "id < 50", "id in (5, 900, 1999)", "bucket != 4 and not flag == false",
    ];

    private static Func<long, bool> OracleOf(string filter) => filter switch
    {
        "bucket == 7" => id => id % 1000 == 7,
        "bucket < 10" => id => id % 1000 < 10,
        "bucket < 100" => id => id % 1000 < 100,
        "bucket >= 500" => id => id % 1000 >= 500,
        "bucket in (1, 2, 3)" => id => id % 1000 is >= 1 and <= 3,
        "lang == 'en' and flag == true" => id => id % 7 != 0 && id % 3 == 0 && id % 2 == 0,
        "lang is null" => id => id % 7 == 0,
        "not (lang is null)" => id => id % 7 != 0,
        "tags contains 'a'" => id => id % 5 != 0 && id % 10 == 1,
        "tags contains any ('a', 'zz')" => id => id % 5 != 0 && id % 10 == 1,
        "score > 100.5 or bucket == 3" => id => id * 0.5 > 100.5 || id % 1000 == 3,
        "when >= '2020-12-01'" => id => new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).AddDays(id % 365) >= new DateTimeOffset(2020, 12, 1, 0, 0, 0, TimeSpan.Zero),
        "id < 50" => id => id < 50,
        "id in (5, 900, 1999)" => id => id is 5 or 900 or 1999,
        "bucket != 4 and not flag == false" => id => id % 1000 != 4 && id % 2 == 0,
        _ => throw new ArgumentException(filter),
    };

    [Theory]
    [MemberData(nameof(Filters))]
    public void Hits_are_min_k_matches_and_exact_when_the_plan_is_exact(string text)
    {
        using var dir = new TempStoreDirectory();
        using var store = Build(dir, 2000, seal: 700, out var vectors, out var live);
        // Deletes and upserts that change fields: the oracle follows them.
        for (long id = 0; id < 2000; id += 13) { store.Delete(id); live.Remove(id); }
        for (long id = 1; id < 2000; id += 17)
        {
            if (!live.ContainsKey(id)) continue;
            store.Add(id, live[id], [], Values(id));
        }
        var filter = Filter.Parse(text);
        var oracle = OracleOf(text);
        var queries = Vectors(20, 9);
        foreach (int exactBelow in new[] { 0, 1_000_000 })
        {
            for (int q = 0; q < 20; q++)
            {
                var query = queries.AsSpan(q * Dim, Dim);
                var expected = Oracle(live, query, 10, oracle, out long m);
                var options = new StoreSearchOptions { NProbe = 1, Rerank = 40, Where = filter, ExactScanBelow = exactBelow };
                var hits = store.Search(query, 10, options);
                Assert.Equal(Math.Min(10, m), hits.Count);
                foreach (var hit in hits) Assert.True(oracle(hit.Id) && live.ContainsKey(hit.Id), $"{text}: hit {hit.Id} does not match");
                var plan = store.Explain(query, 10, options);
                Assert.Equal(m, plan.Matches);
                if (exactBelow > 0)
                {
                    Assert.Equal("exact", plan.Plan);
                    var got = new long[hits.Count];
                    for (int i = 0; i < got.Length; i++) got[i] = hits[i].Id;
                    Assert.Equal(expected, got);
                }
            }
        }
    }

    [Fact]
    public void An_opaque_id_filter_with_nprobe_1_still_finds_its_matches()
    {
        using var dir = new TempStoreDirectory();
        using var store = EmbeddedVectorStore.Create(dir.Path, new EmbeddedVectorStoreOptions { Dimension = Dim, NList = 4, M = 4, TrainingThreshold = 256 });
        var vectors = Vectors(500, 3);
        var ids = new long[500];
        for (int i = 0; i < 500; i++) ids[i] = i;
        store.AddRange(ids, vectors);
        var queries = Vectors(10, 4);
        for (int q = 0; q < 10; q++)
        {
            var hits = store.Search(queries.AsSpan(q * Dim, Dim), 10, new StoreSearchOptions { NProbe = 1, Filter = id => id % 100 == 7 });
            Assert.Equal(5, hits.Count);
            foreach (var hit in hits) Assert.Equal(7, hit.Id % 100);
        }
    }

    [Fact]
    public void Fields_survive_reopen_seal_and_compaction()
    {
        using var dir = new TempStoreDirectory();
        Dictionary<long, float[]> live;
        using (var store = Build(dir, 1200, seal: 500, out _, out live))
        {
            store.Delete(7);
            live.Remove(7);
            store.Add(1007, live[1007], [], new FieldValues().Set("bucket", 7L));
            store.Commit(); // durable through the log: the buffer is replayed on reopen
        }
        var filter = Filter.Field("bucket") == 7L;
        var query = Vectors(1, 5);
        void Check(EmbeddedVectorStore store)
        {
            var hits = store.Search(query, 10, new StoreSearchOptions { Where = filter, NProbe = 1 });
            Assert.Equal(1007, Assert.Single(hits).Id);
        }
        using (var store = EmbeddedVectorStore.Open(dir.Path)) Check(store);
        using (var store = EmbeddedVectorStore.Open(dir.Path))
        {
            store.Compact();
            Check(store);
        }
        using (var store = EmbeddedVectorStore.Open(dir.Path))
        {
            Check(store);
            Assert.Equal(Schema, store.Fields);
        }
    }

    [Fact]
    public void Wrong_fields_and_types_are_errors_naming_the_field()
    {
        using var dir = new TempStoreDirectory();
        using var store = Build(dir, 300, seal: 1000, out var vectors, out _);
        var query = vectors.AsSpan(0, Dim).ToArray();
        var unknown = Assert.Throws<ArgumentException>(() => store.Search(query, 5, new StoreSearchOptions { Where = Filter.Parse("year > 3") }));
        Assert.Contains("'year'", unknown.Message);
        var type = Assert.Throws<ArgumentException>(() => store.Search(query, 5, new StoreSearchOptions { Where = Filter.Parse("bucket == 'x'") }));
        Assert.Contains("'bucket' is long", type.Message);
        Assert.Throws<ArgumentException>(() => store.Add(1, query, [], new FieldValues().Set("bucket", "text")));
        var syntax = Assert.Throws<FilterSyntaxException>(() => Filter.Parse("bucket >= and x"));
        Assert.Equal(10, syntax.Position);
        Assert.Contains("position 10", syntax.Message);
    }

    [Fact]
    public void The_csharp_expression_matches_the_text_form()
    {
        var filter = Filter.Field("bucket") >= 20L & Filter.Tags("tags").ContainsAny("a", "b") | !Filter.Field("lang").IsNull();
        Assert.Equal("((bucket >= 20 and tags contains any ('a', 'b')) or not lang is null)", filter.ToString());
        Assert.Equal(filter.ToString(), Filter.Parse("bucket >= 20 && tags contains any ('a','b') || !(lang is null)").ToString());
    }
}
