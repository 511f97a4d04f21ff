using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Xml.Linq;

namespace EmbeddedVectors.Tests.Packaging;

/// <summary>
/// Packs the library, the embeddings package and the <c>ev</c> tool once (from this build, <c>--no-build</c>) into a
/// temporary folder, for the tests that install and consume them as a user would. Only that folder and the machine's
/// package cache (as a read-only fallback) serve the restores: nothing is fetched.
/// </summary>
public sealed class PackedPackages : IDisposable
{
    public const string Version = "0.1.0";

    public static readonly string[] Projects = ["src/EmbeddedVectors", "src/EmbeddedVectors.Embeddings", "src/EmbeddedVectors.VectorData", "src/EmbeddedVectors.Cluster", "tools/EmbeddedVectors.Cli"];

    public PackedPackages()
    {
        Root = Path.Combine(Path.GetTempPath(), "ev-pack-" + Guid.NewGuid().ToString("N"));
        Feed = Path.Combine(Root, "feed");
        Directory.CreateDirectory(Feed);
        RepositoryRoot = FindRepositoryRoot();
        // The configuration these tests were built in: the packed projects were built with them.
        Configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        foreach (string project in Projects)
            Run(Dotnet, ["pack", Path.Combine(RepositoryRoot, project), "-c", Configuration, "--no-build", "-o", Feed, "-nologo"], RepositoryRoot, timeoutSeconds: 300);
    }

    public string Root { get; }
    public string Feed { get; }
    public string RepositoryRoot { get; }
    public string Configuration { get; }

    /// <summary>The dotnet that runs these tests (set by <c>dotnet test</c>), else the one on the PATH.</summary>
    public static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    public static string GlobalPackages => Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } packages
        ? packages : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    public string Package(string id) => Path.Combine(Feed, $"{id}.{Version}.nupkg");

    /// <summary>Runs a process to its end and returns what it printed; a non-zero exit or a timeout fails the test with that output.</summary>
    public static string Run(string fileName, IEnumerable<string> arguments, string workingDirectory, int timeoutSeconds, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        // The test host's MSBuild settings belong to the test run, not to the builds started here.
        start.Environment.Remove("MSBuildExtensionsPath");
        start.Environment.Remove("MSBUILD_EXE_PATH");
        start.Environment.Remove("MSBuildSDKsPath");
        if (environment != null)
            foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        var lines = new object();
        process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (lines) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (lines) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{fileName} {string.Join(' ', arguments)} did not finish in {timeoutSeconds} s:\n{output}");
        }
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{fileName} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{output}");
        return output.ToString();
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EmbeddedVectors.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"EmbeddedVectors.sln not found above {AppContext.BaseDirectory}");
    }
}

/// <summary>
/// The packages as a user gets them: metadata, the tool installed from the feed, and a console app restored against
/// the library. About a minute on 2 idle cores (packing the 144 MB tool is most of it); CI runs them with the rest
/// (<c>--filter "Category!=Packaging"</c> leaves them out of a quick local run).
/// </summary>
[Trait("Category", "Packaging")]
public sealed class PackageTests(PackedPackages packed) : IClassFixture<PackedPackages>
{
    [Theory]
    [InlineData("EmbeddedVectors", "lib/net10.0/EmbeddedVectors.xml")]
    [InlineData("EmbeddedVectors.Embeddings", "lib/net10.0/EmbeddedVectors.Embeddings.xml")]
    [InlineData("EmbeddedVectors.VectorData", "lib/net10.0/EmbeddedVectors.VectorData.xml")]
    [InlineData("EmbeddedVectors.Cluster", "lib/net10.0/EmbeddedVectors.Cluster.xml")]
    [InlineData("EmbeddedVectors.Tool", "tools/net10.0/any/ev.dll")]
    public void Each_package_has_a_readme_a_licence_docs_and_symbols(string id, string expectedEntry)
    {
        Assert.True(File.Exists(packed.Package(id)), $"{id} was not packed");
        Assert.True(File.Exists(Path.Combine(packed.Feed, $"{id}.{PackedPackages.Version}.snupkg")), $"{id} has no symbol package");
        using var package = ZipFile.OpenRead(packed.Package(id));
        Assert.NotNull(package.GetEntry(expectedEntry));
        Assert.NotNull(package.GetEntry("README.md"));
        using var nuspecStream = package.GetEntry($"{id}.nuspec")!.Open();
        var nuspec = XDocument.Load(nuspecStream);
        XNamespace ns = nuspec.Root!.Name.Namespace;
        var metadata = nuspec.Root.Element(ns + "metadata")!;
        Assert.Equal("MIT", metadata.Element(ns + "license")?.Value);
        Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
        Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")?.Value));
        if (id == "EmbeddedVectors.Tool")
        {
            Assert.Equal("DotnetTool", metadata.Element(ns + "packageTypes")?.Element(ns + "packageType")?.Attribute("name")?.Value);
            // The demo's sample travels with the tool.
            Assert.NotNull(package.GetEntry("tools/net10.0/any/samples/debian-minilm-384-5k/base.fvecs"));
            Assert.NotNull(package.GetEntry("tools/net10.0/any/samples/debian-text-2k/packages.tsv"));
        }
    }

    [Fact]
    public void The_tool_installs_from_the_packages_and_runs_the_demo()
    {
        string tools = Path.Combine(packed.Root, "tools");
        string scratch = Path.Combine(packed.Root, "tool-cache");
        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = scratch };
        PackedPackages.Run(PackedPackages.Dotnet, ["tool", "install", "--tool-path", tools, "--add-source", packed.Feed, "--version", PackedPackages.Version, "EmbeddedVectors.Tool"],
            packed.Root, timeoutSeconds: 300, environment);
        string ev = Path.Combine(tools, OperatingSystem.IsWindows() ? "ev.exe" : "ev");
        Assert.True(File.Exists(ev), $"no {ev} after the install");

        // Run from a folder outside the repository: the demo must find the sample installed beside the tool.
        string elsewhere = Path.Combine(packed.Root, "elsewhere");
        Directory.CreateDirectory(elsewhere);
        if (PackedPackages.Dotnet != "dotnet") environment["DOTNET_ROOT"] = Path.GetDirectoryName(PackedPackages.Dotnet)!;
        string demo = PackedPackages.Run(ev, ["demo"], elsewhere, timeoutSeconds: 300, environment);
        Assert.Contains("recall@10", demo);
        Assert.Contains("debian-minilm-384-5k", demo);
    }

    [Fact]
    public void A_console_app_restores_against_the_packed_library_and_searches()
    {
        string app = Path.Combine(packed.Root, "app");
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="packed" value="{packed.Feed}" />
              </packageSources>
              <fallbackPackageFolders>
                <add key="machine" value="{PackedPackages.GlobalPackages}" />
              </fallbackPackageFolders>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "app.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <RestorePackagesPath>{Path.Combine(packed.Root, "app-packages")}</RestorePackagesPath>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="EmbeddedVectors" Version="{PackedPackages.Version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """"
            using EmbeddedVectors;

            using var store = EmbeddedVectorStore.OpenOrCreate(args[0], new EmbeddedVectorStoreOptions { Dimension = 8, M = 2, NList = 4 });
            float[] vectors = new float[3 * 8];
            for (int i = 0; i < 3; i++) vectors[i * 8 + i] = 1;
            store.AddRange([10, 11, 12], vectors, ["""{"name": "x"}"""u8.ToArray(), """{"name": "y"}"""u8.ToArray(), """{"name": "z"}"""u8.ToArray()]);
            store.Commit();
            var hit = store.Search([0.1f, 0.9f, 0, 0, 0, 0, 0, 0], k: 1)[0];
            Console.WriteLine($"nearest {hit.Id} {hit.PayloadText}");
            """");
        string output = PackedPackages.Run(PackedPackages.Dotnet, ["run", "-c", "Release", "--", Path.Combine(packed.Root, "app-store")], app, timeoutSeconds: 300);
        Assert.Contains("""nearest 11 {"name": "y"}""", output);
    }
}
