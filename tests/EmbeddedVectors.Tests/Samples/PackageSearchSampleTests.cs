using System.Globalization;
using System.Text.RegularExpressions;
using EmbeddedVectors.Embeddings;
using EmbeddedVectors.Samples.PackageSearch;

namespace EmbeddedVectors.Tests.Samples;

/// <summary>
/// The sample app (samples/EmbeddedVectors.Samples.PackageSearch) run through its entry point on part of the shipped
/// corpus: every package of the editors and games sections, every one whose text mentions an editor (the distractors:
/// audio, video, map editors…) and every 20th other line. Below the training threshold the collection searches exactly,
/// so a package's rank here is at most its rank over the whole corpus, where these results were first seen.
/// </summary>
public sealed partial class PackageSearchSampleTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ev-package-search-" + Guid.NewGuid().ToString("N"));

    public PackageSearchSampleTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed record Hit(string Name, double Score, string Section);

    [GeneratedRegex(@"^  \d\. (\S+)\s+(-?\d+\.\d{3})  \[([^\]]*)\]")]
    private static partial Regex HitLine();

    [Fact]
    public async Task Indexes_answers_filters_by_section_and_reopens_without_indexing_again()
    {
        // The shipped corpus where the app looks by default: copied beside it (and so beside these tests) by the build.
        string sample = Path.GetDirectoryName(PackageSearchOptions.Parse([]).CorpusFile)!;
        var sections = File.ReadLines(Path.Combine(sample, "sections.tsv")).Select(l => l.Split('\t')).ToDictionary(c => c[0], c => c[1]);
        var lines = File.ReadAllLines(Path.Combine(sample, "packages.tsv"));
        var subset = lines.Where((line, i) =>
        {
            string name = line[..line.IndexOf('\t')];
            return i % 20 == 0 || line.Contains("editor", StringComparison.OrdinalIgnoreCase)
                || sections.GetValueOrDefault(name) is "editors" or "games";
        }).ToArray();
        string corpus = Path.Combine(_dir, "packages.tsv");
        File.WriteAllLines(corpus, subset);
        File.Copy(Path.Combine(sample, "sections.tsv"), Path.Combine(_dir, "sections.tsv")); // found beside the corpus
        string store = Path.Combine(_dir, "index");

        var (exit, output, error) = await Run("", "--store", store, "--corpus", corpus,
            "--query", "text editor", "--query", "section:games chess", "--query", "section:editors text editor");
        Assert.True(exit == 0, error);
        Assert.Contains($"Indexed {subset.Length:N0} packages in ", output);
        Assert.Contains($"the store holds {subset.Length:N0}.", output);
        var answers = Answers(output);

        var textEditor = answers["text editor"];
        Assert.Equal(5, textEditor.Count);
        Assert.Equal("ne", textEditor[0].Name); // "ne: easy-to-use and powerful text editor"
        Assert.Equal("editors", textEditor[0].Section);
        Assert.True(textEditor.Zip(textEditor.Skip(1)).All(p => p.First.Score >= p.Second.Score), output);
        // The score is the cosine similarity of the query's and the description's embeddings.
        using (var embeddings = new MiniLmEmbeddingGenerator())
        {
            string neText = subset.Single(l => l.StartsWith("ne\t", StringComparison.Ordinal)).Split('\t', 2)[1];
            float cosine = System.Numerics.Tensors.TensorPrimitives.Dot(embeddings.Embed("text editor"), embeddings.Embed(neText));
            Assert.Equal(cosine, textEditor[0].Score, 0.0006);
        }

        var games = answers["section:games chess"];
        Assert.Equal(5, games.Count);
        Assert.Equal("xboard", games[0].Name);
        Assert.All(games, hit => Assert.Equal("games", hit.Section));
        var editors = answers["section:editors text editor"];
        Assert.Equal(5, editors.Count);
        Assert.Equal(["ne", "ghostwriter"], editors.Take(2).Select(h => h.Name));
        Assert.All(editors, hit => Assert.Equal("editors", hit.Section));

        // A second run reopens the store: nothing is indexed again, queries come from standard input.
        (exit, output, error) = await Run("play chess against the computer\nsection:games\n\nsection:games never read\n", "--store", store, "--corpus", corpus);
        Assert.True(exit == 0, error);
        Assert.Contains($"{subset.Length:N0} packages already indexed in {store}.", output);
        Assert.DoesNotContain("Indexing", output);
        answers = Answers(output);
        Assert.Equal(["play chess against the computer", "section:games"], answers.Keys);
        Assert.Equal("xboard", answers["play chess against the computer"][0].Name);
        Assert.Empty(answers["section:games"]);
        Assert.Contains("nothing to search for", output);
    }

    [Fact]
    public async Task A_missing_corpus_is_a_clear_error_and_creates_nothing()
    {
        string store = Path.Combine(_dir, "index");
        string missing = Path.Combine(_dir, "no-such.tsv");
        var (exit, output, error) = await Run("", "--store", store, "--corpus", missing);
        Assert.Equal(1, exit);
        Assert.Equal("", output);
        Assert.Equal($"package-search: {missing} does not exist: expected a TSV file of name<TAB>description lines.", error.Trim());
        Assert.False(Directory.Exists(store));

        (exit, _, error) = await Run("", "--store");
        Assert.Equal(2, exit);
        Assert.StartsWith("package-search: --store needs a value.", error);
    }

    private static async Task<(int Exit, string Output, string Error)> Run(string input, params string[] args)
    {
        var output = new StringWriter(CultureInfo.InvariantCulture);
        var error = new StringWriter(CultureInfo.InvariantCulture);
        int exit = await PackageSearchApp.RunAsync(args, new StringReader(input), output, error);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>Each query ("> query" line) with the hits printed under it.</summary>
    private static Dictionary<string, List<Hit>> Answers(string output)
    {
        var answers = new Dictionary<string, List<Hit>>();
        List<Hit>? current = null;
        foreach (string line in output.Split('\n'))
        {
            if (line.StartsWith("> ", StringComparison.Ordinal)) answers[line[2..].TrimEnd('\r')] = current = [];
            else if (current != null && HitLine().Match(line) is { Success: true } match)
                current.Add(new Hit(match.Groups[1].Value, double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture), match.Groups[3].Value));
        }
        return answers;
    }
}
