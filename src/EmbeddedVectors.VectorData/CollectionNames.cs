namespace EmbeddedVectors.VectorData;

/// <summary>Collection names become subdirectory names, so they must name exactly one directory entry.</summary>
internal static class CollectionNames
{
    private const int MaxLength = 200;

    /// <summary>The collection's directory under <paramref name="root"/>; throws naming what is wrong with <paramref name="name"/>.</summary>
    public static string DirectoryOf(string root, string name)
    {
        Validate(name);
        return Path.Combine(root, name);
    }

    public static void Validate(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string? problem =
            name.Length == 0 ? "it is empty"
            : name.Length > MaxLength ? $"it is longer than {MaxLength} characters"
            : name.Trim().Length != name.Length ? "it starts or ends with white space"
            : name.Contains('/') || name.Contains('\\') ? "it contains a path separator"
            : name.Contains("..", StringComparison.Ordinal) ? "it contains '..'"
            : name.StartsWith('.') ? "it starts with '.'"
            : name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name.Any(char.IsControl) ? "it contains a character not allowed in file names"
            : null;
        if (problem != null)
            throw new ArgumentException($"'{name}' cannot be a collection name: {problem}. Collection names become directory names: use letters, digits, '-', '_' and '.'.", nameof(name));
    }
}
