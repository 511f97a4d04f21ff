using System.Text.Json;

namespace EmbeddedVectors.Tests.Cli;

/// <summary><c>ev info</c>'s health and size figures, and <c>ev retrain</c>.</summary>
[Collection("Console")]
public sealed class CliMaintenanceTests(CliSample sample) : IClassFixture<CliSample>
{
    [Fact]
    public void Info_reports_list_health_and_bytes_per_entry_and_retrain_re_encodes_every_entry()
    {
        string store = sample.File("retrain-store");
        Assert.Equal(0, Ev.Run("create", store, "--dim", $"{sample.Dimension}", "--nlist", "16").ExitCode);
        Assert.Equal(0, Ev.Run("add", store, "--vectors", sample.BaseFile, "--payloads", sample.PayloadFile).ExitCode);

        var info = Ev.Run("info", store, "--json");
        Assert.True(info.ExitCode == 0, info.ToString());
        using (var json = JsonDocument.Parse(info.Out))
        {
            var root = json.RootElement;
            Assert.True(root.GetProperty("largest_list").GetInt32() >= root.GetProperty("mean_list").GetDouble());
            Assert.Equal(CliSample.Rows / 16.0, root.GetProperty("mean_list").GetDouble(), 2);
            Assert.True(root.GetProperty("training_error").GetDouble() > 0);
            Assert.Equal(JsonValueKind.False, root.GetProperty("retrain_advised").ValueKind);
            var parts = root.GetProperty("bytes_per_entry");
            Assert.Equal(20.0, parts.GetProperty("ids").GetDouble(), 1); // id, payload address, id index position
            Assert.True(parts.GetProperty("payloads").GetDouble() > 8);
            foreach (string part in new[] { "codes", "rows", "log", "other" }) Assert.True(parts.GetProperty(part).GetDouble() >= 0, part);
        }

        var retrain = Ev.Run("retrain", store, "--sample", "1500");
        Assert.True(retrain.ExitCode == 0, retrain.ToString());
        Assert.Contains($"{CliSample.Rows:N0} entries re-encoded", retrain.Out);
        var get = Ev.Run("get", store, "7");
        Assert.True(get.ExitCode == 0, get.ToString());
        Assert.Contains("\"id\": 7", get.Out.Replace("\"id\":7", "\"id\": 7"));
        Assert.Empty(EmbeddedVectorStore.Verify(store));

        var bad = Ev.Run("retrain", store, "--sample", "-1");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.StartsWith("ev: ", bad.Error);
    }
}
