namespace EmbeddedVectors.Samples.PackageSearch;

/// <summary>The command line of <see cref="PackageSearchApp"/>.</summary>
public sealed class PackageSearchOptions
{
    /// <summary>The store's directory (default <c>package-index</c> in the working directory).</summary>
    public string StoreDirectory { get; private set; } = "package-index";

    /// <summary>The corpus (default: the shipped sample, copied beside the app when it is built).</summary>
    public string CorpusFile { get; private set; } = Path.Combine(AppContext.BaseDirectory, "debian-text-2k", "packages.tsv");

    /// <summary>The sections file, or null for none.</summary>
    public string? SectionsFile { get; private set; }

    /// <summary>Queries to answer instead of reading standard input.</summary>
    public List<string> Queries { get; } = [];

    /// <summary>Whether <c>--help</c> was asked for.</summary>
    public bool ShowHelp { get; private set; }

    /// <summary>Parses <paramref name="args"/>.</summary>
    /// <exception cref="ArgumentException">An unknown option, or an option without its value.</exception>
    public static PackageSearchOptions Parse(IReadOnlyList<string> args)
    {
        var options = new PackageSearchOptions();
        bool sectionsGiven = false;
        for (int i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--store": options.StoreDirectory = Value(); break;
                case "--corpus": options.CorpusFile = Value(); break;
                case "--sections": options.SectionsFile = Value(); sectionsGiven = true; break;
                case "--query": options.Queries.Add(Value()); break;
                case "--help" or "-h": options.ShowHelp = true; break;
                default: throw new ArgumentException($"unknown option '{args[i]}'.");
            }
        }
        if (!sectionsGiven)
        {
            string besideCorpus = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(options.CorpusFile))!, "sections.tsv");
            options.SectionsFile = File.Exists(besideCorpus) ? besideCorpus : null;
        }
        return options;
    }
}
