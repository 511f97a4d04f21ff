namespace EmbeddedVectors.Cli;

/// <summary>Finds the demo sample shipped in the repository (<c>samples/debian-minilm-384-5k</c>).</summary>
internal static class SampleData
{
    private const string Relative = "samples/debian-minilm-384-5k";

    /// <summary>The sample directory: searched upwards from the working directory, then from the executable.</summary>
    public static string Locate()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, Relative);
                if (File.Exists(Path.Combine(candidate, "base.fvecs"))) return candidate;
            }
        }
        throw new UserErrorException($"The demo sample ({Relative}) was not found above {Directory.GetCurrentDirectory()}. Run the demo from inside the repository, or pass --data DIR.");
    }
}
