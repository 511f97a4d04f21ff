using System.Text.Json;
using EmbeddedVectors.IO;

namespace EmbeddedVectors.Tests.Store;

/// <summary>
/// Stores written by the code before the seams refactor (Fixtures/legacy-v1, see its README) open and search
/// exactly as they did then, read-only and writable, including the log tail that only replay recovers.
/// </summary>
public sealed class LegacyStoreTests
{
    private static readonly string FixtureDirectory = Path.Combine(AppContext.BaseDirectory, "Fixtures", "legacy-v1");

    public static TheoryData<string, bool> Stores => new()
    {
        { "legacy-pq8", true }, { "legacy-pq8", false }, { "legacy-fs", true }, { "legacy-fs", false },
    };

    [Theory]
    [MemberData(nameof(Stores))]
    public void Opens_and_searches_as_the_writing_version_did(string name, bool readOnly)
    {
        using var directory = new TempStoreDirectory();
        CopyDirectory(Path.Combine(FixtureDirectory, name), directory.Path);
        var queries = VectorFile.ReadAllFloats(Path.Combine(FixtureDirectory, "q20.fvecs"), out int dimension);
        using var expectedDocument = JsonDocument.Parse(File.ReadAllText(Path.Combine(FixtureDirectory, "expected.json")));
        var expected = expectedDocument.RootElement.GetProperty(name);

        using var store = EmbeddedVectorStore.Open(directory.Path, new EmbeddedVectorStoreOptions { ReadOnly = readOnly });
        Assert.Equal(expected.GetProperty("count").GetInt64(), store.Count);
        Assert.Equal(expected.GetProperty("trained").GetBoolean(), store.IsTrained);
        long probeId = expected.GetProperty("probe_id").GetInt64();
        Assert.Equal(expected.GetProperty("probe_payload").GetString(), store.Get(probeId)?.PayloadText);

        int runsChecked = 0;
        foreach (var run in expected.GetProperty("runs").EnumerateArray())
        {
            var options = new StoreSearchOptions { NProbe = run.GetProperty("nprobe").GetInt32(), Rerank = run.GetProperty("rerank").GetInt32() };
            var expectedIds = run.GetProperty("ids").EnumerateArray().ToArray();
            var expectedDistances = run.GetProperty("distances").EnumerateArray().ToArray();
            Assert.Equal(queries.Length / dimension, expectedIds.Length);
            for (int q = 0; q < expectedIds.Length; q++)
            {
                var hits = store.Search(queries.AsSpan(q * dimension, dimension), 10, options);
                Assert.Equal(expectedIds[q].EnumerateArray().Select(e => e.GetInt64()), hits.Select(h => h.Id));
                var distances = expectedDistances[q].EnumerateArray().Select(e => e.GetSingle()).ToArray();
                for (int i = 0; i < hits.Count; i++) Assert.Equal(distances[i], hits[i].Distance, 1e-4f);
            }
            runsChecked++;
        }
        Assert.Equal(5, runsChecked);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
