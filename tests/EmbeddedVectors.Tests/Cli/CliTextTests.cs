using System.Text.Json;
using EmbeddedVectors.Cli;
using EmbeddedVectors.IO;

namespace EmbeddedVectors.Tests.Cli;

/// <summary>
/// <c>ev add --text</c> and <c>ev search --text</c> on the first lines of the shipped text sample
/// (samples/debian-text-2k/packages.tsv), and <c>ev add --vectors -</c> from a stream standing in for standard input.
/// </summary>
[Collection("Console")]
public sealed class CliTextTests(CliSample sample) : IClassFixture<CliSample>
{
    private const int Documents = 40;

    private static string[] SampleLines() => File.ReadLines(Path.Combine(TestData.Sample("debian-text-2k"), "packages.tsv")).Take(Documents).ToArray();

    [Fact]
    public void Add_text_then_search_text_finds_the_document_by_its_meaning()
    {
        string store = sample.File("text-store");
        string corpus = sample.File("packages.tsv");
        var lines = SampleLines();
        File.WriteAllLines(corpus, lines);
        Assert.Equal(0, Ev.Run("create", store, "--dim", "384", "--metric", "cosine").ExitCode);

        var added = Ev.Run("add", store, "--text", corpus, "--commit-every", "16");
        Assert.True(added.ExitCode == 0, added.ToString());
        Assert.Contains("TSV, the first column kept as \"key\"", added.Out);
        var commits = added.Out.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("committed ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(["committed 16", "committed 32", "committed 40"], commits);

        // Each document's own text finds it first (ids are line numbers from 0), with the key and text as the payload.
        for (int line = 0; line < Documents; line += 13)
        {
            string[] columns = lines[line].Split('\t', 2);
            var hits = SearchJson(store, columns[1], 1);
            Assert.Equal(line, hits[0].GetProperty("id").GetInt64());
            Assert.Equal(0f, hits[0].GetProperty("distance").GetSingle(), 3);
            Assert.Equal(columns[0], hits[0].GetProperty("payload").GetProperty("key").GetString());
            Assert.Equal(columns[1], hits[0].GetProperty("payload").GetProperty("text").GetString());
        }

        // A query in other words: the one window manager among the 40 (9wm, line 2) comes first.
        var byMeaning = SearchJson(store, "a minimal desktop window manager for X", 3);
        Assert.Equal("9wm", byMeaning[0].GetProperty("payload").GetProperty("key").GetString());

        var table = Ev.Run("search", store, "--text", "a minimal desktop window manager for X", "--k", "3");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("[9wm] 9wm: X11 window manager", table.Out);
        Assert.Contains("3 hits for", table.Out);
    }

    [Fact]
    public void Lines_and_numbered_tsv_give_the_ids_their_format_promises()
    {
        var texts = SampleLines().Select(l => l.Split('\t', 2)[1]).Take(6).ToArray();
        string plain = sample.File("plain.txt");
        File.WriteAllText(plain, "\uFEFF" + texts[0] + "\r\n\r\n" + texts[1] + "\n" + texts[2]);
        string lineStore = sample.File("lines-store");
        Assert.Equal(0, Ev.Run("create", lineStore, "--dim", "384").ExitCode);
        var added = Ev.Run("add", lineStore, "--text", plain, "--id-start", "100");
        Assert.True(added.ExitCode == 0, added.ToString());
        Assert.Contains("Added 3 documents", added.Out);
        // The blank line 2 is skipped and keeps its id (101) unused.
        Assert.Equal(100, SearchJson(lineStore, texts[0], 1)[0].GetProperty("id").GetInt64());
        Assert.Equal(102, SearchJson(lineStore, texts[1], 1)[0].GetProperty("id").GetInt64());
        Assert.Equal(103, SearchJson(lineStore, texts[2], 1)[0].GetProperty("id").GetInt64());
        Assert.Equal(texts[2], SearchJson(lineStore, texts[2], 1)[0].GetProperty("payload").GetProperty("text").GetString());

        string numbered = sample.File("numbered.tsv");
        File.WriteAllLines(numbered, [$"7001\t{texts[3]}", $"-5\t{texts[4]}"]);
        string tsvStore = sample.File("numbered-store");
        Assert.Equal(0, Ev.Run("create", tsvStore, "--dim", "384").ExitCode);
        Assert.Equal(0, Ev.Run("add", tsvStore, "--text", numbered).ExitCode);
        var hit = SearchJson(tsvStore, texts[4], 1)[0];
        Assert.Equal(-5, hit.GetProperty("id").GetInt64());
        Assert.False(hit.GetProperty("payload").TryGetProperty("key", out _));
        Assert.Equal(7001, SearchJson(tsvStore, texts[3], 1)[0].GetProperty("id").GetInt64());

        // Standard input and gzip read the same documents.
        var previous = CliApp.OpenStandardInput;
        CliApp.OpenStandardInput = () => new MemoryStream(System.Text.Encoding.UTF8.GetBytes($"9001\t{texts[5]}\n"));
        try
        {
            var fromStdin = Ev.Run("add", tsvStore, "--text", "-");
            Assert.True(fromStdin.ExitCode == 0, fromStdin.ToString());
        }
        finally
        {
            CliApp.OpenStandardInput = previous;
        }
        Assert.Equal(9001, SearchJson(tsvStore, texts[5], 1)[0].GetProperty("id").GetInt64());
        string gzip = sample.File("numbered.tsv.gz");
        using (var file = File.Create(gzip))
        using (var compressed = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Fastest))
            compressed.Write(System.Text.Encoding.UTF8.GetBytes($"8001\t{texts[5]}\n"));
        Assert.Equal(0, Ev.Run("add", tsvStore, "--text", gzip).ExitCode);
        var twins = SearchJson(tsvStore, texts[5], 2);
        Assert.Equal([8001L, 9001L], twins.Select(h => h.GetProperty("id").GetInt64()).Order().ToArray());

        // Forced to lines, a TSV line is one document, tab and all.
        Assert.Equal(0, Ev.Run("add", tsvStore, "--text", numbered, "--text-format", "lines", "--id-start", "1").ExitCode);
        Assert.Equal($"7001\t{texts[3]}", SearchJson(tsvStore, $"7001\t{texts[3]}", 1)[0].GetProperty("payload").GetProperty("text").GetString());
    }

    [Fact]
    public void Text_mistakes_get_clear_errors()
    {
        string vectorStore = sample.File("err-store-16");
        Assert.Equal(0, Ev.Run("create", vectorStore, "--dim", "16").ExitCode);
        string text = sample.File("err.txt");
        File.WriteAllLines(text, ["one document"]);
        Ev.AssertFails(Ev.Run("add", vectorStore, "--text", text), "16-dimensional", "--dim 384");
        Ev.AssertFails(Ev.Run("search", vectorStore, "--text", "anything"), "16-dimensional");

        string store = sample.File("err-store-384");
        Assert.Equal(0, Ev.Run("create", store, "--dim", "384").ExitCode);
        Ev.AssertFails(Ev.Run("add", store, "--text", sample.File("missing.txt")), "not found");
        Ev.AssertFails(Ev.Run("add", store, "--text", text, "--vectors", sample.BaseFile), "one of the two");
        Ev.AssertFails(Ev.Run("add", store), "one of the two");
        Ev.AssertFails(Ev.Run("add", store, "--text", text, "--payloads", sample.PayloadFile), "--payloads");
        Ev.AssertFails(Ev.Run("add", store, "--text", text, "--text-format", "csv"), "auto, lines or tsv");
        Ev.AssertFails(Ev.Run("search", store), "--queries FILE or --text");

        string mixed = sample.File("mixed.tsv");
        File.WriteAllLines(mixed, ["1\tfirst", "two\tsecond"]);
        Ev.AssertFails(Ev.Run("add", store, "--text", mixed), "line 2", "'two' is not a whole number");
        string noTab = sample.File("notab.tsv");
        File.WriteAllLines(noTab, ["1\tfirst", "second"]);
        Ev.AssertFails(Ev.Run("add", store, "--text", noTab), "line 2", "no tab");
    }

    [Fact]
    public void Vectors_from_standard_input_are_added_as_from_the_file()
    {
        string fromFile = sample.File("stdin-file-store"), fromStream = sample.File("stdin-stream-store");
        foreach (string store in new[] { fromFile, fromStream })
            Assert.Equal(0, Ev.Run("create", store, "--dim", $"{sample.Dimension}", "--nlist", "16", "--training-threshold", "512").ExitCode);
        Assert.Equal(0, Ev.Run("add", fromFile, "--vectors", sample.BaseFile, "--id-start", "10", "--train-size", "512").ExitCode);

        string npy = sample.File("base.npy");
        VectorFile.WriteNpy(npy, sample.Vectors, sample.Dimension);
        var previous = CliApp.OpenStandardInput;
        CliApp.OpenStandardInput = () => File.OpenRead(npy);
        try
        {
            var added = Ev.Run("add", fromStream, "--vectors", "-", "--format", "npy", "--id-start", "10", "--commit-every", "700");
            Assert.True(added.ExitCode == 0, added.ToString());
            var commits = added.Out.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("committed ", StringComparison.Ordinal)).ToArray();
            Assert.Equal(["committed 700", "committed 1400", "committed 2000"], commits);
            Ev.AssertFails(Ev.Run("add", fromStream, "--vectors", "-"), "--format");
            CliApp.OpenStandardInput = () => new MemoryStream(new byte[100]);
            Ev.AssertFails(Ev.Run("add", fromStream, "--vectors", "-", "--format", "npy"), "standard input", "bad magic");
        }
        finally
        {
            CliApp.OpenStandardInput = previous;
        }

        // Both stores hold the same entries (rows kept as f16 in both, so compared with each other).
        using var a = EmbeddedVectorStore.Open(fromFile, new EmbeddedVectorStoreOptions { ReadOnly = true });
        using var b = EmbeddedVectorStore.Open(fromStream, new EmbeddedVectorStoreOptions { ReadOnly = true });
        Assert.Equal(CliSample.Rows, a.GetInfo().Count);
        Assert.Equal(CliSample.Rows, b.GetInfo().Count);
        for (int row = 0; row < CliSample.Rows; row += 97)
        {
            var vector = b.Get(10 + row)!.Vector;
            Assert.Equal(a.Get(10 + row)!.Vector, vector);
            Assert.Equal(sample.Vectors[row * sample.Dimension], vector[0], 2);
        }
    }

    private static JsonElement[] SearchJson(string store, string query, int k)
    {
        var result = Ev.Run("search", store, "--text", query, "--k", $"{k}", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var document = JsonDocument.Parse(result.Out);
        return document.RootElement.EnumerateArray().Select(e => e.Clone()).ToArray();
    }
}
