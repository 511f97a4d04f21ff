using System.Text.Json;
using System.Text.Json.Serialization;

namespace EmbeddedVectors.Cli.Commands;

/// <summary>One row of a benchmark: the figures for one (nprobe, rerank) setting.</summary>
internal sealed record BenchRow(
    int Nprobe,
    int Rerank,
    [property: JsonPropertyName("recall_at_1")] double RecallAt1,
    [property: JsonPropertyName("recall_at_10")] double RecallAt10,
    double Qps,
    double BatchQps,
    [property: JsonPropertyName("latency_p50_us")] double LatencyP50Us,
    [property: JsonPropertyName("latency_p99_us")] double LatencyP99Us,
    [property: JsonPropertyName("latency_max_us")] double LatencyMaxUs);

/// <summary>What <c>ev bench</c> prints and writes with <c>--json</c>; field names are part of the CLI's contract.</summary>
internal sealed record BenchReport
{
    public string Engine { get; init; } = "embeddedvectors";
    public required string Index { get; init; }
    public required long N { get; init; }
    public required int Dim { get; init; }
    public required int K { get; init; }
    public required int Threads { get; init; }
    public required string Metric { get; init; }
    public int? Nlist { get; init; }
    public int? M { get; init; }
    public string? Codes { get; init; }
    public required int Queries { get; init; }
    public double? TrainSeconds { get; init; }
    public double? AddSeconds { get; init; }
    public double? OpenSeconds { get; init; }

    /// <summary>CPU time (all threads) the open took: less sensitive than <see cref="OpenSeconds"/> to other load on the machine.</summary>
    public double? OpenCpuSeconds { get; init; }

    /// <summary>Of the open, the time this thread spent compiling methods (JIT); near zero with ReadyToRun code.</summary>
    public double? OpenJitSeconds { get; init; }

    /// <summary>Peak anonymous resident memory (RssAnon) sampled during the run, on Linux; null elsewhere.</summary>
    public long? RssAnonBytes { get; set; }
    public string Machine { get; init; } = $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";
    public List<BenchRow> Results { get; init; } = [];

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public void WriteJson(string path)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory != null) Directory.CreateDirectory(directory);
        File.WriteAllText(path, JsonSerializer.Serialize(this, JsonOptions));
    }
}
