using EmbeddedVectors.Tests.Store;

namespace EmbeddedVectors.Tests.Filtering;

/// <summary>
/// Property-style checks of filtered search: random stores (several segments and a write buffer), random filters
/// from the whole language, random deletes and upserts that change fields, then compaction and reopen. Every search
/// is compared with a brute-force oracle over the store's own vectors and fields: min(k, matches) hits, only matching
/// live entries, and the exact top-k when the plan is exact. Each filter is searched again after the changes, so the
/// segments' cached matches are checked against later deletions too.
/// </summary>
public class FilterPropertyTests
{
    private const int Dim = 8;
    private const int K = 10;

    private static readonly FieldDefinition[] Schema =
    [
        new("bucket", FieldType.Long), new("score", FieldType.Double), new("lang", FieldType.String),
        new("flag", FieldType.Bool), new("tags", FieldType.Tags),
    ];

    private sealed record Row(float[] Vector, long? Bucket, double? Score, string? Lang, bool? Flag, string[]? Tags);

    private static readonly string[] Langs = ["en", "de", "fr"];
    private static readonly string[] TagNames = ["a", "b", "c", "d"];

    private static Row RandomRow(Random random)
    {
        var vector = new float[Dim];
        int cluster = random.Next(6);
        for (int j = 0; j < Dim; j++) vector[j] = (float)(random.NextDouble() * 2 - 1) + cluster * 2;
        return new Row(vector,
            random.Next(8) == 0 ? null : random.Next(50),
            random.Next(8) == 0 ? null : Math.Round(random.NextDouble() * 10, 2),
            random.Next(5) == 0 ? null : Langs[random.Next(Langs.Length)],
            random.Next(6) == 0 ? null : random.Next(2) == 0,
            random.Next(5) == 0 ? null : Enumerable.Range(0, random.Next(3)).Select(_ => TagNames[random.Next(TagNames.Length)]).Distinct().ToArray());
    }

    private static FieldValues ValuesOf(Row row) => new FieldValues()
        .Set("bucket", row.Bucket).Set("score", row.Score).Set("lang", row.Lang).Set("flag", row.Flag).Set("tags", row.Tags);

    private static readonly (string Text, Func<int, bool> Holds)[] Operators =
        [("==", c => c == 0), ("!=", c => c != 0), ("<", c => c < 0), ("<=", c => c <= 0), (">", c => c > 0), (">=", c => c >= 0)];

    /// <summary>A random filter: its text (parsed by the store) and the oracle's predicate over (id, row).</summary>
    private static (string Text, Func<long, Row, bool> Oracle) RandomFilter(Random random, int depth)
    {
        if (depth > 0 && random.Next(3) != 0)
        {
            var (leftText, left) = RandomFilter(random, depth - 1);
            switch (random.Next(3))
            {
                case 0:
                    var (andText, andRight) = RandomFilter(random, depth - 1);
                    return ($"({leftText}) and ({andText})", (id, r) => left(id, r) && andRight(id, r));
                case 1:
                    var (orText, orRight) = RandomFilter(random, depth - 1);
                    return ($"({leftText}) or ({orText})", (id, r) => left(id, r) || orRight(id, r));
                default:
                    return ($"not ({leftText})", (id, r) => !left(id, r));
            }
        }
        var (op, holds) = Operators[random.Next(Operators.Length)];
        switch (random.Next(9))
        {
            case 0:
            case 1:
                long bucket = random.Next(-2, 53);
                return ($"bucket {op} {bucket}", (_, r) => r.Bucket is long b && holds(b.CompareTo(bucket)));
            case 2:
                double score = Math.Round(random.NextDouble() * 10, 1);
                return ($"score {op} {score.ToString(System.Globalization.CultureInfo.InvariantCulture)}", (_, r) => r.Score is double s && holds(s.CompareTo(score)));
            case 3:
                string lang = Langs[random.Next(Langs.Length)];
                return ($"lang {op} '{lang}'", (_, r) => r.Lang is string l && holds(string.CompareOrdinal(l, lang)));
            case 4:
                bool flag = random.Next(2) == 0;
                return ($"flag == {(flag ? "true" : "false")}", (_, r) => r.Flag == flag);
            case 5:
                var any = TagNames.Where(_ => random.Next(2) == 0).DefaultIfEmpty("b").ToArray();
                return ($"tags contains any ({string.Join(", ", any.Select(t => $"'{t}'"))})", (_, r) => r.Tags != null && r.Tags.Intersect(any).Any());
            case 6:
                var inList = Enumerable.Range(0, 1 + random.Next(4)).Select(_ => (long)random.Next(50)).ToArray();
                return ($"bucket in ({string.Join(", ", inList)})", (_, r) => r.Bucket is long b && inList.Contains(b));
            case 7:
                string field = random.Next(2) == 0 ? "lang" : "tags";
                bool isNull = random.Next(2) == 0;
                return ($"{field} is {(isNull ? "" : "not ")}null",
                    (_, r) => (field == "lang" ? r.Lang == null : r.Tags == null) == isNull);
            default:
                long idBound = random.Next(2000);
                return ($"id {op} {idBound}", (id, _) => holds(id.CompareTo(idBound)));
        }
    }

    private static List<(float D, long Id)> Oracle(Dictionary<long, Row> live, float[] query, Func<long, Row, bool> passes)
    {
        var scored = new List<(float D, long Id)>();
        foreach (var (id, row) in live)
        {
            if (!passes(id, row)) continue;
            float d = 0;
            for (int j = 0; j < Dim; j++) d += (query[j] - row.Vector[j]) * (query[j] - row.Vector[j]);
            scored.Add((d, id));
        }
        scored.Sort();
        return scored;
    }

    private static void CheckAll(EmbeddedVectorStore store, Dictionary<long, Row> live, (string Text, Func<long, Row, bool> Oracle)[] filters,
        float[][] queries, string phase)
    {
        foreach (var (text, passes) in filters)
        {
            var where = Filter.Parse(text);
            foreach (var query in queries)
            {
                var expected = Oracle(live, query, passes);
                foreach (int exactBelow in new[] { 0, int.MaxValue })
                {
                    // nprobe 1 and a small shortlist: the plan, not a wide default probe, must find the matches.
                    var options = new StoreSearchOptions { NProbe = 1, Rerank = 20, Where = where, ExactScanBelow = exactBelow };
                    var hits = store.Search(query, K, options);
                    string context = $"{phase}, '{text}', exact below {exactBelow}";
                    Assert.True(Math.Min(K, expected.Count) == hits.Count, $"{context}: {hits.Count} hits, {expected.Count} matches");
                    Assert.Equal(hits.Count, hits.Select(h => h.Id).Distinct().Count());
                    foreach (var hit in hits)
                        Assert.True(live.TryGetValue(hit.Id, out var row) && passes(hit.Id, row), $"{context}: hit {hit.Id} is deleted or does not match");
                    if (exactBelow == 0) continue;
                    // The exact plan: the oracle's top-k distances, rank by rank (ids may swap only within a tie).
                    for (int i = 0; i < hits.Count; i++)
                        Assert.True(Math.Abs(hits[i].Distance - expected[i].D) <= 1e-4f * Math.Max(1, expected[i].D),
                            $"{context}: rank {i} has distance {hits[i].Distance}, the oracle {expected[i].D}");
                }
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Random_stores_filters_and_changes_match_the_oracle(int seed)
    {
        var random = new Random(seed);
        using var dir = new TempStoreDirectory();
        var live = new Dictionary<long, Row>();
        var filters = Enumerable.Range(0, 14).Select(_ => RandomFilter(random, depth: 2)).ToArray();
        var queries = Enumerable.Range(0, 3).Select(_ => RandomRow(random).Vector).ToArray();
        var options = new EmbeddedVectorStoreOptions
        {
            Dimension = Dim, NList = 4 + random.Next(5), M = 4, TrainingThreshold = 256, SealThreshold = 150 + random.Next(400), Fields = Schema,
            Rows = RowEncoding.Float32, // the exact plan is compared with a float32 oracle
        };
        using (var store = EmbeddedVectorStore.Create(dir.Path, options))
        {
            int n = 600 + random.Next(900);
            for (long id = 0; id < n; id++)
            {
                var row = RandomRow(random);
                store.Add(id, row.Vector, [], ValuesOf(row));
                live[id] = row;
            }
            CheckAll(store, live, filters, queries, "after adds");

            // Deletes and upserts (new vectors and fields) in sealed segments and in the buffer; the filters are
            // searched again, so matches cached before must not bring back what was deleted or replaced.
            var ids = live.Keys.ToArray();
            for (int i = 0; i < n / 5; i++)
            {
                long id = ids[random.Next(ids.Length)];
                if (random.Next(2) == 0)
                {
                    store.Delete(id);
                    live.Remove(id);
                }
                else
                {
                    var row = RandomRow(random);
                    store.Add(id, row.Vector, [], ValuesOf(row));
                    live[id] = row;
                }
            }
            CheckAll(store, live, filters, queries, "after deletes and upserts");
            store.Flush();
            CheckAll(store, live, filters, queries, "after a seal");
            store.Compact();
            CheckAll(store, live, filters, queries, "after compaction");
        }
        using (var reopened = EmbeddedVectorStore.Open(dir.Path)) CheckAll(reopened, live, filters, queries, "after reopen");
    }

    [Fact]
    public void A_store_without_vectors_searches_with_the_default_options()
    {
        using var dir = new TempStoreDirectory();
        using var store = EmbeddedVectorStore.Create(dir.Path, new EmbeddedVectorStoreOptions
        {
            Dimension = Dim, NList = 4, M = 4, TrainingThreshold = 256, StoreVectors = false, Fields = Schema,
        });
        var random = new Random(5);
        for (long id = 0; id < 400; id++)
        {
            var row = RandomRow(random);
            store.Add(id, row.Vector, [], ValuesOf(row));
        }
        store.Flush();
        var query = RandomRow(random).Vector;
        // The default re-ranking applies only where the rows are kept: here it is off, not an error.
        Assert.Equal(K, store.Search(query, K).Count);
        Assert.Equal(K, store.Search(query, K, new StoreSearchOptions { Where = Filter.Parse("bucket >= 0") }).Count);
        Assert.Throws<InvalidOperationException>(() => store.Search(query, K, new StoreSearchOptions { Rerank = 10 }));
    }
}
