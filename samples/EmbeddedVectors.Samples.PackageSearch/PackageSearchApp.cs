using System.Diagnostics;
using EmbeddedVectors.Embeddings;
using EmbeddedVectors.VectorData;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace EmbeddedVectors.Samples.PackageSearch;

/// <summary>
/// Semantic search over Debian package descriptions: opens (or creates) a store, indexes the corpus once, then answers
/// queries typed on standard input or given with <c>--query</c>. <c>section:NAME words</c> searches one section only.
/// </summary>
public static class PackageSearchApp
{
    /// <summary>Hits printed a query.</summary>
    public const int Top = 5;

    /// <summary>Packages embedded and committed at once (one generator call and one durable commit a batch).</summary>
    public const int BatchSize = 256;

    private const string SectionPrefix = "section:";

    /// <summary>What <c>--help</c> prints.</summary>
    public const string Usage = """
        usage: package-search [--store DIR] [--corpus FILE] [--sections FILE] [--query "TEXT"]...

          --store DIR       where the index lives (default ./package-index; created and indexed on first use)
          --corpus FILE     name<TAB>description lines (default: the shipped samples/debian-text-2k/packages.tsv)
          --sections FILE   name<TAB>section lines (default: sections.tsv beside the corpus, if there is one)
          --query "TEXT"    answer TEXT and exit (repeatable); without it, queries are read from standard input

        A query "section:games chess" searches the games section only.
        """;

    /// <summary>Runs the app; returns the process exit code (0 success, 1 a failure, 2 bad arguments).</summary>
    public static async Task<int> RunAsync(string[] args, TextReader input, TextWriter output, TextWriter error)
    {
        PackageSearchOptions options;
        try
        {
            options = PackageSearchOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            await error.WriteLineAsync($"package-search: {e.Message}\n\n{Usage}");
            return 2;
        }
        if (options.ShowHelp)
        {
            await output.WriteLineAsync(Usage);
            return 0;
        }

        try
        {
            // The corpus is read first: a missing file is reported before the model loads.
            var corpus = PackageCorpus.Read(options.CorpusFile, options.SectionsFile);

            // Any IEmbeddingGenerator works here (a cloud service's, Ollama's…); this one runs all-MiniLM-L6-v2 locally.
            using IEmbeddingGenerator<string, Embedding<float>> embeddings = new MiniLmEmbeddingGenerator();
            using VectorStore store = new EmbeddedVectorsVectorStore(options.StoreDirectory, new() { EmbeddingGenerator = embeddings });
            VectorStoreCollection<string, PackageRecord> packages = store.GetCollection<string, PackageRecord>("packages");

            await IndexIfNeededAsync(packages, corpus, options.StoreDirectory, output);

            if (options.Queries.Count > 0)
            {
                foreach (string query in options.Queries) await AnswerAsync(packages, query, output);
                return 0;
            }
            await output.WriteLineAsync($"Type a query (\"{SectionPrefix}games chess\" to search one section; an empty line quits).");
            while (await input.ReadLineAsync() is { } line && !string.IsNullOrWhiteSpace(line))
                await AnswerAsync(packages, line, output);
            return 0;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or VectorStoreException)
        {
            await error.WriteLineAsync($"package-search: {e.Message}");
            return 1;
        }
    }

    /// <summary>
    /// Embeds and upserts the corpus unless its last package is already stored: a store indexed earlier is reused, and
    /// one whose indexing was interrupted is completed (upserts replace records with the same key, so redoing a batch is harmless).
    /// </summary>
    private static async Task IndexIfNeededAsync(VectorStoreCollection<string, PackageRecord> packages, List<PackageRecord> corpus,
        string storeDirectory, TextWriter output)
    {
        await packages.EnsureCollectionExistsAsync();
        if (await packages.GetAsync(corpus[^1].Name) is not null)
        {
            await output.WriteLineAsync($"{StoredCount(packages):N0} packages already indexed in {storeDirectory}.");
            return;
        }

        await output.WriteLineAsync($"Indexing {corpus.Count:N0} packages into {storeDirectory} (embedding them on this machine)…");
        var clock = Stopwatch.StartNew();
        int done = 0;
        foreach (PackageRecord[] batch in corpus.Chunk(BatchSize))
        {
            await packages.UpsertAsync(batch); // one generator call for the batch, durable when the task completes
            done += batch.Length;
            await output.WriteLineAsync($"  {done:N0} / {corpus.Count:N0}");
        }
        double seconds = clock.Elapsed.TotalSeconds;
        await output.WriteLineAsync($"Indexed {corpus.Count:N0} packages in {seconds:F1} s ({corpus.Count / seconds:F1} a second); the store holds {StoredCount(packages):N0}.");
    }

    /// <summary>The entries in the collection's underlying store, which the connector exposes through GetService.</summary>
    private static long StoredCount(VectorStoreCollection<string, PackageRecord> packages)
        => packages.GetService(typeof(EmbeddedVectorStore)) is EmbeddedVectorStore store ? store.Count : -1;

    /// <summary>Prints the query and its hits: rank, name, cosine similarity, section, summary.</summary>
    private static async Task AnswerAsync(VectorStoreCollection<string, PackageRecord> packages, string query, TextWriter output)
    {
        var (section, text) = ParseQuery(query);
        await output.WriteLineAsync($"> {query.Trim()}");
        if (text.Length == 0)
        {
            await output.WriteLineAsync($"  (nothing to search for: write words after {SectionPrefix}{section})");
            return;
        }

        // A LINQ filter on the indexed Section property; the connector translates it into the store's filter.
        var options = new VectorSearchOptions<PackageRecord> { Filter = section is null ? null : package => package.Section == section };
        int rank = 0;
        await foreach (VectorSearchResult<PackageRecord> hit in packages.SearchAsync(text, Top, options))
        {
            PackageRecord package = hit.Record;
            await output.WriteLineAsync($"  {++rank}. {package.Name,-30} {hit.Score:F3}  [{package.Section ?? "?"}]  {Shorten(package.Summary, 60)}");
        }
        if (rank == 0) await output.WriteLineAsync($"  (no hits: no package in section '{section}')");
    }

    /// <summary>"section:games chess" gives ("games", "chess"); anything else is all text.</summary>
    private static (string? Section, string Text) ParseQuery(string query)
    {
        query = query.Trim();
        if (!query.StartsWith(SectionPrefix, StringComparison.OrdinalIgnoreCase)) return (null, query);
        int space = query.IndexOf(' ');
        string section = space < 0 ? query[SectionPrefix.Length..] : query[SectionPrefix.Length..space];
        return (section, space < 0 ? "" : query[(space + 1)..].Trim());
    }

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";
}
