using System.Text.Json;
using EmbeddedVectors.IO;

namespace EmbeddedVectors.Tests.Cli;

/// <summary>User mistakes: each gives a non-zero exit and one "ev: …" line naming the problem, never a stack trace.</summary>
[Collection("Console")]
public sealed class CliErrorTests(CliSample sample) : IClassFixture<CliSample>
{
    private string NewStore(string name)
    {
        string store = sample.File(name);
        var created = Ev.Run("create", store, "--dim", $"{sample.Dimension}", "--nlist", "16");
        Assert.True(created.ExitCode == 0, created.ToString());
        return store;
    }

    [Fact]
    public void Add_with_the_wrong_dimension()
    {
        string store = NewStore("wrong-dim");
        string small = sample.File("eight.fvecs");
        VectorFile.WriteFvecs(small, new float[8 * 4], 8);
        Ev.AssertFails(Ev.Run("add", store, "--vectors", small), "8-dimensional", $"{sample.Dimension}-dimensional");
    }

    [Fact]
    public void Create_twice()
    {
        string store = NewStore("twice");
        Ev.AssertFails(Ev.Run("create", store, "--dim", "8"), "already holds");
    }

    [Fact]
    public void Search_on_a_directory_that_is_not_a_store()
    {
        string plain = sample.File("not-a-store");
        Directory.CreateDirectory(plain);
        Ev.AssertFails(Ev.Run("search", plain, "--queries", sample.QueryFile), "not an EmbeddedVectors store");
        Ev.AssertFails(Ev.Run("info", sample.File("does-not-exist")), "does not exist");
    }

    [Fact]
    public void Unknown_option_command_and_bad_numbers()
    {
        string store = NewStore("options");
        Ev.AssertFails(Ev.Run("info", store, "--frobnicate", "1"), "Unknown option --frobnicate");
        Ev.AssertFails(Ev.Run("frobnicate"), "Unknown command 'frobnicate'");
        Ev.AssertFails(Ev.Run("create", sample.File("bad-number"), "--dim", "many"), "--dim", "'many'");
        Ev.AssertFails(Ev.Run("create", sample.File("bad-codes"), "--dim", "8", "--codes", "pq4"), "Unknown --codes 'pq4'");
        Ev.AssertFails(Ev.Run("create", sample.File("bad-rows"), "--dim", "8", "--rows", "f8"), "Unknown --rows 'f8'", "f32, f16 or i8");
        Ev.AssertFails(Ev.Run("create", sample.File("bad-m"), "--dim", "10", "--m", "3"), "not divisible");
        Ev.AssertFails(Ev.Run("get", store, "seven"), "'seven' is not an id");
        Ev.AssertFails(Ev.Run("add", store, "--vectors", sample.File("missing.fvecs")), "not found", "missing.fvecs");
    }

    [Fact]
    public void A_bad_payload_line_is_named_and_nothing_is_added()
    {
        string store = NewStore("bad-payload");
        string vectors = sample.File("four.fvecs");
        VectorFile.WriteFvecs(vectors, sample.Vectors.AsSpan(0, 4 * sample.Dimension), sample.Dimension);
        string payloads = sample.File("bad.jsonl");
        File.WriteAllText(payloads, "{\"a\": 1}\n{\"b\": 2}\n{\"c\": oops}\n{\"d\": 4}\n");
        Ev.AssertFails(Ev.Run("add", store, "--vectors", vectors, "--payloads", payloads), "line 3", "not valid JSON");

        string short_ = sample.File("short.jsonl");
        File.WriteAllText(short_, "{}\n{}\n");
        Ev.AssertFails(Ev.Run("add", store, "--vectors", vectors, "--payloads", short_), "2 lines", "4 vectors");

        string ids = sample.File("three-ids.ivecs");
        VectorFile.WriteIvecs(ids, [1, 2, 3], 1);
        Ev.AssertFails(Ev.Run("add", store, "--vectors", vectors, "--ids", ids), "3 ids", "4 vectors");

        var info = Ev.Run("info", store, "--json");
        using var json = JsonDocument.Parse(info.Out);
        Assert.Equal(0, json.RootElement.GetProperty("count").GetInt64());
    }

    [Fact]
    public void Get_of_a_missing_id_exits_1()
    {
        string store = NewStore("get-missing");
        var result = Ev.Run("get", store, "42");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("ev: no entry with id 42", result.Error.Trim());
        Assert.Equal("", result.Out);
    }

    [Fact]
    public void Verify_reports_a_damaged_segment_and_exits_1()
    {
        string store = NewStore("damaged");
        string vectors = sample.File("six-hundred.fvecs");
        VectorFile.WriteFvecs(vectors, sample.Vectors.AsSpan(0, 600 * sample.Dimension), sample.Dimension);
        var added = Ev.Run("add", store, "--vectors", vectors);
        Assert.True(added.ExitCode == 0, added.ToString());
        Assert.Equal("ok", Ev.Run("verify", store).Out.Trim());

        string segment = Directory.GetFiles(store, "seg-*").OrderByDescending(f => new FileInfo(f).Length).First();
        using (var file = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = file.Length / 2;
            int value = file.ReadByte();
            file.Position = file.Length / 2;
            file.WriteByte((byte)(value ^ 0x5A));
        }
        var verified = Ev.Run("verify", store);
        Assert.Equal(1, verified.ExitCode);
        Assert.NotEqual("ok", verified.Out.Trim());
        Assert.Contains("damaged", verified.Error);
        Assert.DoesNotContain("   at ", verified.Out + verified.Error);
    }
}
