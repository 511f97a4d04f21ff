using System.Text.Json;
using System.Text.Json.Nodes;

namespace EmbeddedVectors.Tests.Cli;

/// <summary>
/// Metadata fields through the CLI: <c>ev create --field</c>, values from <c>ev add --payloads</c>, <c>ev info</c>,
/// <c>ev search --where</c> (min(k, matches) hits, checked against the payloads) and <c>--explain</c>.
/// </summary>
[Collection("Console")]
public sealed class CliFieldTests(CliSample sample) : IClassFixture<CliSample>
{
    private static readonly string[] FieldSpecs =
        ["--field", "year:long", "--field", "lang:string", "--field", "score:double", "--field", "ok:bool", "--field", "when:date", "--field", "labels:tags"];

    /// <summary>Row i's payload: the sample's package plus synthetic fields (row 5 has "year": null and no "lang").</summary>
    private static string Payload(int i)
    {
        var node = new JsonObject
        {
            ["package"] = $"p{i}",
            ["year"] = i == 5 ? null : 2000 + i % 25,
            ["score"] = i * 0.5,
            ["ok"] = i % 2 == 0,
            ["when"] = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddDays(i % 366).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            ["labels"] = new JsonArray([.. Enumerable.Range(0, i % 4).Select(t => JsonValue.Create(t == 0 && i % 100 == 7 ? "rare" : $"t{(i + t) % 10}"))]),
        };
        if (i != 5) node["lang"] = i % 3 == 0 ? "en" : "de";
        return node.ToJsonString();
    }

    private string FieldStore(string name)
    {
        string store = sample.File(name);
        var created = Ev.Run(["create", store, "--dim", $"{sample.Dimension}", "--nlist", "16", .. FieldSpecs]);
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.Contains("fields: year (long), lang (string), score (double), ok (bool), when (date), labels (tags)", created.Out);
        string payloads = sample.File(name + ".jsonl");
        File.WriteAllLines(payloads, Enumerable.Range(0, CliSample.Rows).Select(Payload));
        var added = Ev.Run("add", store, "--vectors", sample.BaseFile, "--payloads", payloads);
        Assert.True(added.ExitCode == 0, added.ToString());
        return store;
    }

    /// <summary>Each query's hits from <c>ev search --json</c>, as the payload objects.</summary>
    private static List<JsonElement[]> SearchJson(string store, string queries, int k, string where, params string[] more)
    {
        var result = Ev.Run(["search", store, "--queries", queries, "--k", $"{k}", "--json", "--where", where, .. more]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement.EnumerateArray().Select(h => h.GetProperty("payload").Clone()).ToArray())
            .ToList();
    }

    /// <summary>Filters (selective and broad), k and nprobe; each exact plan (the default) and the probing plan (--exact-below 0).</summary>
    private static readonly (string Where, int K, string NProbe)[] WhereCases =
    [
        ("year == 2003 and lang == 'en'", 10, "16"),
        ("year == 2003 and lang == 'en'", 50, "1"),
        ("labels contains 'rare'", 10, "1"),
        ("labels contains any ('rare', 't3') and ok == true", 10, "1"),
        ("when >= '2024-12-01' and score < 500", 10, "2"),
        ("year is null or (lang in ('en') and score >= 990.5)", 10, "1"),
        ("not (year >= 2001)", 100, "1"),
    ];

    [Fact]
    public void Where_returns_min_k_matches_and_only_matching_entries()
    {
        string store = FieldStore("where");
        foreach (var (where, k, nprobe) in WhereCases)
        {
            var predicate = Predicate(where);
            int matches = Enumerable.Range(0, CliSample.Rows).Count(predicate);
            Assert.True(matches > 0, where);
            foreach (string exactBelow in new[] { "4096", "0" })
            {
                var hits = SearchJson(store, sample.QueryFile, k, where, "--nprobe", nprobe, "--rerank", "50", "--exact-below", exactBelow);
                Assert.Equal(CliSample.QueryRows, hits.Count);
                foreach (var queryHits in hits)
                {
                    Assert.True(Math.Min(k, matches) == queryHits.Length, $"{where}, k {k}, nprobe {nprobe}, exact-below {exactBelow}: {queryHits.Length} hits, {matches} matches");
                    foreach (var payload in queryHits)
                    {
                        int row = int.Parse(payload.GetProperty("package").GetString()![1..], System.Globalization.CultureInfo.InvariantCulture);
                        Assert.True(predicate(row), $"row {row} does not pass {where}");
                    }
                }
            }
        }
    }

    /// <summary>The test's own reading of each filter above, over the generated payloads.</summary>
    private static Func<int, bool> Predicate(string where) => where switch
    {
        "year == 2003 and lang == 'en'" => i => i != 5 && i % 25 == 3 && i % 3 == 0,
        "labels contains 'rare'" => i => i % 100 == 7 && i % 4 > 0,
        "labels contains any ('rare', 't3') and ok == true" => i => i % 2 == 0 && Labels(i).Any(t => t is "rare" or "t3"),
        "when >= '2024-12-01' and score < 500" => i => i % 366 >= 335 && i * 0.5 < 500,
        "year is null or (lang in ('en') and score >= 990.5)" => i => i == 5 || (i % 3 == 0 && i * 0.5 >= 990.5),
        "not (year >= 2001)" => i => i == 5 || i % 25 == 0,
        _ => throw new ArgumentException(where),
    };

    private static string[] Labels(int i)
    {
        using var document = JsonDocument.Parse(Payload(i));
        return document.RootElement.GetProperty("labels").EnumerateArray().Select(t => t.GetString()!).ToArray();
    }

    [Fact]
    public void Info_lists_the_fields()
    {
        string store = FieldStore("info-fields");
        var info = Ev.Run("info", store, "--json");
        Assert.True(info.ExitCode == 0, info.ToString());
        using var json = JsonDocument.Parse(info.Out);
        var fields = json.RootElement.GetProperty("fields").EnumerateArray()
            .Select(f => $"{f.GetProperty("name").GetString()}:{f.GetProperty("type").GetString()}").ToArray();
        Assert.Equal(["year:long", "lang:string", "score:double", "ok:bool", "when:date", "labels:tags"], fields);
        Assert.Contains("year (long), lang (string), score (double), ok (bool), when (date), labels (tags)", Ev.Run("info", store).Out);

        string plain = sample.File("info-no-fields");
        Assert.Equal(0, Ev.Run("create", plain, "--dim", "8").ExitCode);
        using var none = JsonDocument.Parse(Ev.Run("info", plain, "--json").Out);
        Assert.Equal(0, none.RootElement.GetProperty("fields").GetArrayLength());
    }

    [Fact]
    public void Explain_goes_to_stderr_and_json_keeps_its_format_with_payloads()
    {
        string store = FieldStore("explain");
        var result = Ev.Run("search", store, "--queries", sample.QueryFile, "--k", "5", "--json", "--explain", "--where", "year == 2003 and lang == 'en'");
        Assert.True(result.ExitCode == 0, result.ToString());
        var explained = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(CliSample.QueryRows, explained.Length);
        int matches = Enumerable.Range(0, CliSample.Rows).Count(Predicate("year == 2003 and lang == 'en'"));
        Assert.StartsWith($"explain: query 0: plan=exact matches={matches} ", explained[0]);
        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(CliSample.QueryRows, lines.Length);
        foreach (string line in lines)
        {
            using var document = JsonDocument.Parse(line);
            Assert.Equal(5, document.RootElement.GetArrayLength());
            foreach (var hit in document.RootElement.EnumerateArray())
            {
                Assert.True(hit.GetProperty("id").GetInt64() >= 0);
                Assert.Equal(2003, hit.GetProperty("payload").GetProperty("year").GetInt64());
            }
        }

        // A broad filter takes the probing plan; without --where the plan is unfiltered.
        var broad = Ev.Run("search", store, "--queries", sample.QueryFile, "--k", "5", "--explain", "--where", "score >= 0", "--exact-below", "100");
        Assert.True(broad.ExitCode == 0, broad.ToString());
        Assert.Contains("explain: query 0: plan=probe matches=2000 ", broad.Error);
        Assert.Contains("where score >= 0", broad.Out);
        var plain = Ev.Run("search", store, "--queries", sample.QueryFile, "--k", "5", "--explain");
        Assert.Contains("explain: query 0: plan=unfiltered", plain.Error);
    }

    [Fact]
    public void A_bad_field_spec_is_named()
    {
        Ev.AssertFails(Ev.Run("create", sample.File("spec-1"), "--dim", "8", "--field", "year"), "--field 'year'", "NAME:TYPE");
        Ev.AssertFails(Ev.Run("create", sample.File("spec-2"), "--dim", "8", "--field", "year:int"), "--field 'year:int'", "unknown type 'int'", "tags");
        Ev.AssertFails(Ev.Run("create", sample.File("spec-3"), "--dim", "8", "--field", "2x:long"), "'2x'", "not a valid field name");
        Ev.AssertFails(Ev.Run("create", sample.File("spec-4"), "--dim", "8", "--field", "a:long", "--field", "a:string"), "'a'", "declared twice");
        Assert.False(Directory.Exists(sample.File("spec-1")) && EmbeddedVectorStore.Exists(sample.File("spec-1")));
    }

    [Theory]
    [InlineData("{\"year\": \"2020\"}", "'year' is long")]
    [InlineData("{\"year\": 2020.5}", "'year' is long")]
    [InlineData("{\"lang\": 7}", "'lang' is string")]
    [InlineData("{\"ok\": \"yes\"}", "'ok' is bool")]
    [InlineData("{\"when\": \"yesterday\"}", "'when' is date")]
    [InlineData("{\"when\": 20240101}", "'when' is date")]
    [InlineData("{\"labels\": \"a\"}", "'labels' is tags")]
    [InlineData("{\"labels\": [\"a\", 1]}", "'labels' is tags")]
    public void A_field_value_of_the_wrong_type_names_line_field_and_type_and_adds_nothing(string badLine, string expected)
    {
        string store = sample.File("bad-field-" + Math.Abs(badLine.GetHashCode(StringComparison.Ordinal)));
        Assert.Equal(0, Ev.Run(["create", store, "--dim", $"{sample.Dimension}", "--nlist", "16", .. FieldSpecs]).ExitCode);
        string payloads = sample.File(Path.GetFileName(store) + ".jsonl");
        var lines = Enumerable.Range(0, CliSample.Rows).Select(Payload).ToArray();
        lines[1233] = badLine;
        File.WriteAllLines(payloads, lines);
        Ev.AssertFails(Ev.Run("add", store, "--vectors", sample.BaseFile, "--payloads", payloads), "line 1234", expected, "Nothing was added");
        using var opened = EmbeddedVectorStore.Open(store, new EmbeddedVectorStoreOptions { ReadOnly = true });
        Assert.Equal(0, opened.Count);
    }

    [Fact]
    public void A_syntax_error_in_where_points_at_the_position()
    {
        string store = FieldStore("where-syntax");
        const string where = "year >= and lang == 'en'";
        var result = Ev.Run("search", store, "--queries", sample.QueryFile, "--where", where);
        Assert.Equal(2, result.ExitCode);
        var lines = result.Error.TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("ev: --where: ", lines[0]);
        Assert.Contains("position 8", lines[0]);
        Assert.Equal("    " + where, lines[1]);
        Assert.Equal(new string(' ', 4 + 8) + "^", lines[2]);
        Assert.Empty(result.Out);
    }

    [Fact]
    public void A_wrong_field_name_or_type_in_where_names_the_field_and_its_type()
    {
        string store = FieldStore("where-schema");
        Ev.AssertFails(Ev.Run("search", store, "--queries", sample.QueryFile, "--where", "yeer >= 2020"), "'yeer'", "year:long");
        Ev.AssertFails(Ev.Run("search", store, "--queries", sample.QueryFile, "--where", "year == 'new'"), "'year' is long");
        Ev.AssertFails(Ev.Run("search", store, "--queries", sample.QueryFile, "--where", "lang contains 'en'"), "'lang' is string");
        Ev.AssertFails(Ev.Run("search", store, "--queries", sample.QueryFile, "--where", "when < 'soon'"), "'when' is date");
    }

    [Fact]
    public void Fields_add_declares_a_field_that_later_adds_fill_and_where_filters_on()
    {
        string store = sample.File("fields-add");
        Assert.Equal(0, Ev.Run("create", store, "--dim", $"{sample.Dimension}", "--nlist", "16", "--field", "year:long").ExitCode);
        string payloads = sample.File("fields-add.jsonl");
        File.WriteAllLines(payloads, Enumerable.Range(0, CliSample.Rows).Select(Payload));
        Assert.Equal(0, Ev.Run("add", store, "--vectors", sample.BaseFile, "--payloads", payloads).ExitCode);

        var listed = Ev.Run("fields", store);
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Contains("fields: year (long)", listed.Out);
        var added = Ev.Run("fields", store, "--add", "lang:string", "--add", "labels:tags");
        Assert.True(added.ExitCode == 0, added.ToString());
        Assert.Contains("added lang (string), labels (tags); committed", added.Out);
        Assert.Contains($"The {CliSample.Rows:N0} entries already stored hold null in them", added.Out);
        Assert.Contains("fields: year (long), lang (string), labels (tags)", added.Out);

        // Before the entries are added again, the new field is null everywhere: a filter on it matches nothing.
        Assert.All(SearchJson(store, sample.QueryFile, 10, "lang == 'en'"), hits => Assert.Empty(hits));
        Assert.Equal(0, Ev.Run("add", store, "--vectors", sample.BaseFile, "--payloads", payloads).ExitCode);
        int matches = Enumerable.Range(0, CliSample.Rows).Count(i => i != 5 && i % 3 == 0 && i % 25 == 3);
        foreach (var hits in SearchJson(store, sample.QueryFile, 10, "lang == 'en' and year == 2003"))
        {
            Assert.Equal(Math.Min(10, matches), hits.Length);
            Assert.All(hits, payload => Assert.Equal("en", payload.GetProperty("lang").GetString()));
        }

        var again = Ev.Run("fields", store, "--add", "lang:long");
        Assert.Equal(2, again.ExitCode); // a usage error, like every UserErrorException
        Assert.Contains("field 'lang' is already declared (string)", again.Error);
        var badType = Ev.Run("fields", store, "--add", "size:int");
        Assert.NotEqual(0, badType.ExitCode);
        Assert.Contains("unknown type 'int'", badType.Error);
    }
}
