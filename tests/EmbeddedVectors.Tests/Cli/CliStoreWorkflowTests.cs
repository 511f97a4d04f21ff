using System.Text.Json;
using EmbeddedVectors.IO;

namespace EmbeddedVectors.Tests.Cli;

/// <summary>The store commands end to end, in-process: create → add → info → search → get → delete → compact → verify.</summary>
[Collection("Console")]
public sealed class CliStoreWorkflowTests(CliSample sample) : IClassFixture<CliSample>
{
    [Fact]
    public void Create_add_info_search_get_delete_compact_verify()
    {
        string store = sample.File("workflow-store");

        var created = Ev.Run("create", store, "--dim", $"{sample.Dimension}", "--nlist", "16");
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.Contains("nlist 16", created.Out);

        var added = Ev.Run("add", store, "--vectors", sample.BaseFile, "--payloads", sample.PayloadFile, "--commit-every", "500");
        Assert.True(added.ExitCode == 0, added.ToString());
        Assert.Contains("Training on", added.Out);
        var commits = added.Out.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("committed ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(["committed 500", "committed 1000", "committed 1500", "committed 2000"], commits);

        using (var info = InfoJson(store))
        {
            var root = info.RootElement;
            Assert.Equal(CliSample.Rows, root.GetProperty("count").GetInt64());
            Assert.Equal(sample.Dimension, root.GetProperty("dim").GetInt32());
            Assert.Equal("l2", root.GetProperty("metric").GetString());
            Assert.Equal(16, root.GetProperty("nlist").GetInt32());
            Assert.Equal(sample.Dimension / 8, root.GetProperty("m").GetInt32());
            Assert.True(root.GetProperty("segments").GetInt32() >= 1);
            Assert.True(root.GetProperty("bytes_on_disk").GetInt64() > 0);
            Assert.True(root.GetProperty("trained").GetBoolean());
            Assert.Equal(0, root.GetProperty("deleted").GetInt64());
            Assert.Equal(0, root.GetProperty("buffered").GetInt64());
            Assert.Equal("pq8", root.GetProperty("codes").GetString());
            Assert.True(root.GetProperty("store_vectors").GetBoolean());
            Assert.False(root.GetProperty("opq").GetBoolean());
        }

        // Base vectors as queries: each one's nearest entry is itself.
        string results = sample.File("results.ivecs");
        var searched = Ev.Run("search", store, "--queries", sample.QueryFile, "--k", "5", "--nprobe", "16", "--rerank", "50", "--out", results);
        Assert.True(searched.ExitCode == 0, searched.ToString());
        Assert.Contains("queries/s", searched.Out);
        var ids = VectorFile.ReadAllInt32(results, out int width);
        Assert.Equal(5, width);
        Assert.Equal(CliSample.QueryRows, ids.Length / width);
        for (int q = 0; q < CliSample.QueryRows; q++) Assert.Equal(q, ids[q * width]);

        var json = Ev.Run("search", store, "--queries", sample.QueryFile, "--k", "3", "--rerank", "50", "--json");
        Assert.True(json.ExitCode == 0, json.ToString());
        var lines = json.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(CliSample.QueryRows, lines.Length);
        using (var first = JsonDocument.Parse(lines[1]))
        {
            var hit = first.RootElement[0];
            Assert.Equal(1, hit.GetProperty("id").GetInt64());
            Assert.Equal(0f, hit.GetProperty("distance").GetSingle(), 3);
            Assert.Equal(PackageOf(sample.PayloadLines[1]), hit.GetProperty("payload").GetProperty("package").GetString());
        }

        var got = Ev.Run("get", store, "7");
        Assert.True(got.ExitCode == 0, got.ToString());
        using (var entry = JsonDocument.Parse(got.Out))
        {
            Assert.Equal(7, entry.RootElement.GetProperty("id").GetInt64());
            Assert.Equal(PackageOf(sample.PayloadLines[7]), entry.RootElement.GetProperty("payload").GetProperty("package").GetString());
            var vector = entry.RootElement.GetProperty("vector").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            // Sealed, so at the default row precision (float16: 11 significant bits).
            var original = sample.Vectors.AsSpan(7 * sample.Dimension, sample.Dimension);
            for (int j = 0; j < sample.Dimension; j++) Assert.Equal(original[j], vector[j], Math.Abs(original[j]) / 1024 + 1e-7f);
        }

        var deleted = Ev.Run("delete", store, "3", "5", "999999");
        Assert.True(deleted.ExitCode == 0, deleted.ToString());
        Assert.Contains("deleted 2 of 3", deleted.Out);
        var missing = Ev.Run("get", store, "3");
        Assert.Equal(1, missing.ExitCode);
        Assert.Equal("ev: no entry with id 3", missing.Error.Trim());
        using (var info = InfoJson(store))
        {
            Assert.Equal(CliSample.Rows - 2, info.RootElement.GetProperty("count").GetInt64());
            Assert.Equal(2, info.RootElement.GetProperty("deleted").GetInt64());
        }

        var compacted = Ev.Run("compact", store);
        Assert.True(compacted.ExitCode == 0, compacted.ToString());
        Assert.Contains("before:", compacted.Out);
        Assert.Contains("after:", compacted.Out);
        using (var info = InfoJson(store))
        {
            Assert.Equal(CliSample.Rows - 2, info.RootElement.GetProperty("count").GetInt64());
            Assert.Equal(0, info.RootElement.GetProperty("deleted").GetInt64());
        }
        var afterCompact = Ev.Run("search", store, "--queries", sample.QueryFile, "--k", "1", "--rerank", "50", "--json");
        var firstHits = afterCompact.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => { using var d = JsonDocument.Parse(line); return d.RootElement[0].GetProperty("id").GetInt64(); }).ToArray();
        Assert.DoesNotContain(3L, firstHits);
        Assert.Equal(7L, firstHits[7]);

        var verified = Ev.Run("verify", store);
        Assert.True(verified.ExitCode == 0, verified.ToString());
        Assert.Equal("ok", verified.Out.Trim());
    }

    [Fact]
    public void Add_numbers_rows_from_id_start_or_takes_ids_from_a_file()
    {
        string store = sample.File("ids-store");
        Assert.Equal(0, Ev.Run("create", store, "--dim", $"{sample.Dimension}", "--nlist", "16").ExitCode);
        string few = sample.File("few.fvecs");
        VectorFile.WriteFvecs(few, sample.Vectors.AsSpan(0, 10 * sample.Dimension), sample.Dimension);
        var byStart = Ev.Run("add", store, "--vectors", few, "--id-start", "1000");
        Assert.True(byStart.ExitCode == 0, byStart.ToString());
        Assert.Contains("committed 10", byStart.Out);
        Assert.Equal(0, Ev.Run("get", store, "1009").ExitCode);

        string idFile = sample.File("ids.npy");
        VectorFile.WriteNpy(idFile, Enumerable.Range(0, 10).Select(i => 5_000_000_000L + i).ToArray(), 1);
        var byFile = Ev.Run("add", store, "--vectors", few, "--ids", idFile);
        Assert.True(byFile.ExitCode == 0, byFile.ToString());
        Assert.Equal(0, Ev.Run("get", store, "5000000004").ExitCode);
        using var info = InfoJson(store);
        Assert.Equal(20, info.RootElement.GetProperty("count").GetInt64());
        Assert.False(info.RootElement.GetProperty("trained").GetBoolean());

        // 64-bit ids do not fit an .ivecs: the error says what to use instead.
        var wide = Ev.Run("search", store, "--queries", few, "--k", "20", "--out", sample.File("wide.ivecs"));
        Ev.AssertFails(wide, "does not fit", "--json");
        Assert.False(File.Exists(sample.File("wide.ivecs")));
    }

    [Fact]
    public void Bench_measures_a_store_and_writes_the_report()
    {
        string store = sample.File("bench-store");
        Assert.Equal(0, Ev.Run("create", store, "--dim", $"{sample.Dimension}", "--nlist", "16").ExitCode);
        Assert.Equal(0, Ev.Run("add", store, "--vectors", sample.BaseFile).ExitCode);
        string truth = sample.File("truth.ivecs");
        VectorFile.WriteIvecs(truth, ExactTopK(10), 10);
        string report = sample.File("bench.json");

        var bench = Ev.Run("bench", store, "--queries", sample.QueryFile, "--gt", truth, "--nprobe", "16", "--rerank", "50", "--threads", "1", "--json", report);
        Assert.True(bench.ExitCode == 0, bench.ToString());
        using var json = JsonDocument.Parse(File.ReadAllText(report));
        var root = json.RootElement;
        Assert.Equal("store", root.GetProperty("index").GetString());
        Assert.Equal(CliSample.Rows, root.GetProperty("n").GetInt64());
        Assert.True(root.GetProperty("open_seconds").GetDouble() > 0);
        var row = Assert.Single(root.GetProperty("results").EnumerateArray());
        Assert.Equal(1.0, row.GetProperty("recall_at_1").GetDouble());
        Assert.True(row.GetProperty("recall_at_10").GetDouble() > 0.8);
        double p50 = row.GetProperty("latency_p50_us").GetDouble(), p99 = row.GetProperty("latency_p99_us").GetDouble();
        Assert.True(p50 > 0 && p50 <= p99 && p99 <= row.GetProperty("latency_max_us").GetDouble());
        if (OperatingSystem.IsLinux()) Assert.True(root.GetProperty("rss_anon_bytes").GetInt64() > 1 << 20);
    }

    private int[] ExactTopK(int k)
    {
        int dim = sample.Dimension;
        var truth = new int[CliSample.QueryRows * k];
        for (int q = 0; q < CliSample.QueryRows; q++)
        {
            int queryStart = q * dim;
            var vectors = sample.Vectors;
            var order = Enumerable.Range(0, CliSample.Rows)
                .Select(i =>
                {
                    double d = 0;
                    for (int j = 0; j < dim; j++)
                    {
                        double diff = vectors[queryStart + j] - vectors[i * dim + j];
                        d += diff * diff;
                    }
                    return (Distance: d, Row: i);
                })
                .OrderBy(x => x.Distance).ThenBy(x => x.Row).Take(k).Select(x => x.Row).ToArray();
            order.CopyTo(truth, q * k);
        }
        return truth;
    }

    private static JsonDocument InfoJson(string store)
    {
        var info = Ev.Run("info", store, "--json");
        Assert.True(info.ExitCode == 0, info.ToString());
        return JsonDocument.Parse(info.Out);
    }

    private static string? PackageOf(string payloadLine)
    {
        using var document = JsonDocument.Parse(payloadLine);
        return document.RootElement.GetProperty("package").GetString();
    }
}

/// <summary><c>ev create --rows</c> and the <c>rows</c> field of <c>ev info --json</c>.</summary>
[Collection("Console")]
public sealed class CliRowsTests(CliSample sample) : IClassFixture<CliSample>
{
    [Theory]
    [InlineData("f32", 4)]
    [InlineData("f16", 2)]
    [InlineData("i8", 1)]
    public void Create_with_rows_shows_them_in_info(string rows, int bytesPerValue)
    {
        string store = sample.File("rows-store-" + rows);
        var created = Ev.Run("create", store, "--dim", $"{sample.Dimension}", "--nlist", "16", "--rows", rows);
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.Contains($"as {rows} ({bytesPerValue * sample.Dimension} bytes a vector)", created.Out);
        var added = Ev.Run("add", store, "--vectors", sample.BaseFile);
        Assert.True(added.ExitCode == 0, added.ToString());

        var info = Ev.Run("info", store, "--json");
        Assert.True(info.ExitCode == 0, info.ToString());
        using var json = JsonDocument.Parse(info.Out);
        Assert.Equal(rows, json.RootElement.GetProperty("rows").GetString());
        Assert.Contains($"kept ({rows})", Ev.Run("info", store).Out);

        var found = Ev.Run("search", store, "--queries", sample.QueryFile, "--k", "1", "--rerank", "50", "--json");
        Assert.True(found.ExitCode == 0, found.ToString());
    }
}
