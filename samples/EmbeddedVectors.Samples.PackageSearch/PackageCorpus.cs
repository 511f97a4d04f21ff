namespace EmbeddedVectors.Samples.PackageSearch;

/// <summary>
/// Reads the package corpus: <c>name&lt;TAB&gt;name: summary. long description</c> a line (as
/// <c>samples/debian-text-2k/packages.tsv</c>), with sections from an optional <c>name&lt;TAB&gt;section</c> file.
/// </summary>
public static class PackageCorpus
{
    /// <summary>The packages of <paramref name="corpusFile"/>, in file order.</summary>
    /// <param name="corpusFile">The TSV corpus.</param>
    /// <param name="sectionsFile">The sections file, or null for none (every section null).</param>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="InvalidDataException">A line has no tab, or the corpus has no package.</exception>
    public static List<PackageRecord> Read(string corpusFile, string? sectionsFile)
    {
        var sections = sectionsFile is null ? [] : ReadSections(sectionsFile);
        var packages = new List<PackageRecord>();
        foreach (var (name, description) in ReadPairs(corpusFile, "name<TAB>description"))
        {
            packages.Add(new PackageRecord
            {
                Name = name,
                Section = sections.GetValueOrDefault(name),
                Summary = SummaryOf(name, description),
                Description = description,
            });
        }
        return packages.Count > 0 ? packages : throw new InvalidDataException($"The corpus {corpusFile} holds no package.");
    }

    private static Dictionary<string, string> ReadSections(string sectionsFile)
    {
        var sections = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, section) in ReadPairs(sectionsFile, "name<TAB>section")) sections[name] = section;
        return sections;
    }

    /// <summary>The non-blank lines of a two-column TSV file, split at the first tab.</summary>
    private static IEnumerable<(string Name, string Value)> ReadPairs(string file, string expected)
    {
        if (!File.Exists(file))
            throw new FileNotFoundException($"{Path.GetFullPath(file)} does not exist: expected a TSV file of {expected} lines.", file);
        int lineNumber = 0;
        foreach (string line in File.ReadLines(file))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            int tab = line.IndexOf('\t');
            if (tab <= 0) throw new InvalidDataException($"Line {lineNumber} of {file} is not {expected}.");
            yield return (line[..tab], line[(tab + 1)..].Trim());
        }
    }

    /// <summary>"ne: easy-to-use and powerful text editor. Ne, the nice…" gives "easy-to-use and powerful text editor".</summary>
    private static string SummaryOf(string name, string description)
    {
        string text = description.StartsWith(name + ": ", StringComparison.Ordinal) ? description[(name.Length + 2)..] : description;
        int end = text.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? text[..end] : text;
    }
}
