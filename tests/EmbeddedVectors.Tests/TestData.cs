namespace EmbeddedVectors.Tests;

/// <summary>Finds the real data sets shared next to the repository (<c>../shared/data/...</c>), when present.</summary>
public static class TestData
{
    private static readonly string[] SharedDataRelative = ["shared", "data", "debian-minilm-384"];

    private static readonly Lazy<string?> Found = new(() => Search().Found);

    /// <summary>
    /// The full path of <c>shared/data/debian-minilm-384</c>, found by walking up from the test binaries,
    /// or null when no parent directory has it.
    /// </summary>
    public static string? SharedDataDirectory => Found.Value;

    /// <summary>The full path of <paramref name="fileName"/> in <see cref="SharedDataDirectory"/>.</summary>
    /// <exception cref="FileNotFoundException">The directory or the file is missing; the message lists where it looked.</exception>
    public static string RequireSharedData(string fileName)
    {
        (string? directory, List<string> looked) = Search();
        string relative = Path.Combine(SharedDataRelative);
        if (directory is null)
        {
            throw new FileNotFoundException(
                $"No {relative} directory found in {AppContext.BaseDirectory} or any parent; looked for: " +
                string.Join(", ", looked));
        }
        string path = Path.Combine(directory, fileName);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} does not exist.", path);
    }

    /// <summary>The repository's shipped sample (<c>samples/NAME</c>), found by walking up from the test binaries.</summary>
    public static string Sample(string name = "debian-minilm-384-5k")
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "samples", name);
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException($"samples/{name} not found above {AppContext.BaseDirectory}");
    }

    /// <summary>The file <paramref name="relative"/> (e.g. <c>shared/tools/memlimit</c>) in the test binaries' directory or the nearest parent that has it; null when none does.</summary>
    public static string? FindFileUp(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static (string? Found, List<string> Looked) Search()
    {
        var looked = new List<string>();
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine([dir.FullName, .. SharedDataRelative]);
            looked.Add(candidate);
            if (Directory.Exists(candidate))
                return (candidate, looked);
        }
        return (null, looked);
    }
}
