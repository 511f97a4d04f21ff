namespace EmbeddedVectors.Tests.Cli;

/// <summary>The command line itself: flags anywhere, generated help, and one-line errors for unknown options.</summary>
[Collection("Console")]
public sealed class CliParserTests(CliSample sample) : IClassFixture<CliSample>
{
    private StoreInfo Created(string name, params string[] options)
    {
        string store = sample.File(name);
        var created = Ev.Run(["create", store, .. options]);
        Assert.True(created.ExitCode == 0, created.ToString());
        using var opened = EmbeddedVectorStore.Open(store, new EmbeddedVectorStoreOptions { ReadOnly = true });
        return opened.GetInfo();
    }

    [Fact]
    public void Opq_is_a_flag_of_create_in_the_middle_of_the_options()
    {
        var info = Created("opq-middle", "--dim", "384", "--opq", "--nlist", "256");
        Assert.True(info.Opq);
        Assert.Equal(256, info.NList);
        Assert.Equal(384, info.Dimension);
    }

    [Fact]
    public void Opq_is_a_flag_of_create_as_the_last_argument()
    {
        var info = Created("opq-last", "--dim", "384", "--nlist", "256", "--opq");
        Assert.True(info.Opq);
        Assert.Equal(256, info.NList);
        Assert.False(Created("no-opq", "--dim", "384", "--nlist", "256").Opq);
    }

    [Fact]
    public void Create_help_lists_its_options()
    {
        var result = Ev.Run("create", "--help");
        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (string option in new[] { "--dim", "--metric", "--nlist", "--m", "--no-vectors", "--training-threshold", "--seal-threshold", "--codes", "--opq", "--rows" })
            Assert.Contains(option, result.Out);
        Assert.Contains("1024", result.Out); // the default nlist
        Assert.Equal("", result.Error);
    }

    [Fact]
    public void Help_prints_every_command()
    {
        var result = Ev.Run("help");
        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (string command in new[] { "create", "add", "search", "get", "delete", "compact", "info", "verify", "bench", "demo" })
            Assert.Contains($"ev {command}", result.Out);
        Assert.Contains("--opq ROUNDS", result.Out);
    }

    [Fact]
    public void An_unknown_option_is_a_one_line_error_naming_it()
    {
        Ev.AssertFails(Ev.Run("create", sample.File("unknown-option"), "--dim", "8", "--frobnicate"), "Unknown option --frobnicate");
        Ev.AssertFails(Ev.Run("create", sample.File("unknown-option"), "--frobnicate", "--dim", "8"), "Unknown option --frobnicate");
        Ev.AssertFails(Ev.Run("delete", sample.File("unknown-option"), "1", "--frobnicate=2"), "Unknown option --frobnicate");
        Assert.False(Directory.Exists(sample.File("unknown-option")));
    }
}
