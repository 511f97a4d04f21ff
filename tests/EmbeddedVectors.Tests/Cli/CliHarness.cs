using EmbeddedVectors.Cli;
using EmbeddedVectors.IO;

namespace EmbeddedVectors.Tests.Cli;

/// <summary>Tests that redirect <see cref="Console"/> run one at a time, never beside any other test.</summary>
[CollectionDefinition("Console", DisableParallelization = true)]
public sealed class ConsoleCollection;

/// <summary>What one in-process <c>ev</c> run returned and printed.</summary>
public sealed record EvResult(int ExitCode, string Out, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Out}\n--- stderr ---\n{Error}";
}

/// <summary>Runs <c>ev</c> in-process with standard output and error captured.</summary>
public static class Ev
{
    public static EvResult Run(params string[] args)
    {
        var oldOut = Console.Out;
        var oldError = Console.Error;
        var output = new StringWriter();
        var error = new StringWriter();
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            int code = CliApp.Run(args);
            return new EvResult(code, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldError);
        }
    }

    /// <summary>Asserts a user-facing failure: non-zero exit, one "ev: …" line on stderr naming the problem, no stack trace.</summary>
    public static void AssertFails(EvResult result, params string[] expectedInMessage)
    {
        Assert.True(result.ExitCode != 0, $"expected a failure\n{result}");
        string error = result.Error.Trim();
        Assert.StartsWith("ev: ", error);
        Assert.DoesNotContain("\n", error);
        Assert.DoesNotContain("   at ", result.Error + result.Out);
        Assert.DoesNotContain("Exception", result.Error);
        foreach (string expected in expectedInMessage) Assert.Contains(expected, error, StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>The shipped demo sample (samples/debian-minilm-384-5k), cut down into small input files for the CLI tests.</summary>
public sealed class CliSample : IDisposable
{
    public const int Rows = 2000;
    public const int QueryRows = 20;

    public CliSample()
    {
        Directory = Path.Combine(Path.GetTempPath(), "ev-cli-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        string sample = TestData.Sample();
        var all = VectorFile.ReadAllFloats(Path.Combine(sample, "base.fvecs"), out int dimension, Rows);
        Dimension = dimension;
        Vectors = all;
        BaseFile = File("base.fvecs");
        VectorFile.WriteFvecs(BaseFile, all, dimension);
        QueryFile = File("queries.fvecs");
        VectorFile.WriteFvecs(QueryFile, all.AsSpan(0, QueryRows * dimension), dimension);
        PayloadLines = System.IO.File.ReadLines(Path.Combine(sample, "payloads.jsonl")).Take(Rows).ToArray();
        PayloadFile = File("payloads.jsonl");
        System.IO.File.WriteAllLines(PayloadFile, PayloadLines);
    }

    public string Directory { get; }
    public int Dimension { get; }
    public float[] Vectors { get; }
    public string BaseFile { get; }
    public string QueryFile { get; }
    public string PayloadFile { get; }
    public string[] PayloadLines { get; }

    public string File(string name) => Path.Combine(Directory, name);

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
    }
}
