using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace EmbeddedVectors.Storage;

/// <summary>A sealed segment as the manifest names it.</summary>
internal sealed record SegmentEntry(long Number, long Count, long DeletionsVersion);

/// <summary>
/// The root of a store: its shape, the quantizer file, the live segments and the log address up to which every
/// record is sealed into them. Replaced atomically, so a crash leaves the old or the new manifest, never a mix.
/// </summary>
internal sealed record Manifest
{
    public const string FileName = "MANIFEST";
    public const int FormatVersion = 1;

    /// <summary>The header: magic · version · body length (field 0) · body checksum; no header checksum (24 bytes).</summary>
    internal static readonly ChecksummedFile Layout = new("manifest", "EVMANIFS"u8, FormatVersion, fieldCount: 1, hasHeaderChecksum: false, bodyName: "JSON body");
    private const int BodyLengthField = 0;

    public required int Dimension { get; init; }
    public required Metric Metric { get; init; }
    public required int NList { get; init; }
    public required int M { get; init; }
    public CodeLayout CodeLayout { get; init; } = CodeLayout.Pq8;
    public required bool StoreVectors { get; init; }
    public required int TrainingThreshold { get; init; }
    public required int SealThreshold { get; init; }
    public bool Trained { get; init; }

    /// <summary>The quantizers work on OPQ-rotated vectors; the rotation is in <see cref="RotationFile"/>. Added without a version bump: absent means false.</summary>
    public bool Opq { get; init; }

    /// <summary>
    /// Probes go through the graph over the centroids in <see cref="CoarseGraphFile"/>. Added without a version bump:
    /// absent means false, and false is not written, so a store without a graph keeps writing the same manifest.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool CoarseGraph { get; init; }
    public long Generation { get; init; }
    public long NextSegmentNumber { get; init; } = 1;
    public long SealedUntilAddress { get; init; }
    public IReadOnlyList<SegmentEntry> Segments { get; init; } = [];

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        WriteIndented = true,
    };

    public SegmentShape Shape => new(NList, M, Dimension, CodeLayout, StoreVectors);

    public void Write(string directory)
    {
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions);
        Layout.Write(Path.Combine(directory, FileName), [body.Length], body);
    }

    public static bool Exists(string directory) => File.Exists(Path.Combine(directory, FileName));

    public static Manifest Read(string directory)
    {
        string path = Path.Combine(directory, FileName);
        var file = Layout.Read(path, "missing: this directory is not an EmbeddedVectors store (no MANIFEST). Create one with EmbeddedVectorStore.Create.");
        var body = file.Body(file.Field(BodyLengthField));
        Manifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<Manifest>(body, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new CorruptFileException(path, $"unreadable body: {e.Message}");
        }
        if (manifest == null) throw new CorruptFileException(path, "empty body.");
        manifest.Validate(path);
        return manifest;
    }

    private void Validate(string path)
    {
        string? problem =
            Dimension < 1 ? $"dimension {Dimension}" :
            !Enum.IsDefined(Metric) ? $"metric {Metric}" :
            NList < 1 ? $"nlist {NList}" :
            M < 1 || Dimension % M != 0 ? $"m {M} for dimension {Dimension}" :
            !Enum.IsDefined(CodeLayout) ? $"code layout {CodeLayout}" :
            SealedUntilAddress < 0 ? $"sealed-until address {SealedUntilAddress}" :
            NextSegmentNumber < 1 ? $"next segment number {NextSegmentNumber}" :
            null;
        foreach (var segment in Segments)
        {
            if (segment.Number < 1 || segment.Number >= NextSegmentNumber || segment.Count < 0 || segment.DeletionsVersion < 0)
                problem ??= $"segment entry {segment}";
        }
        if (problem != null) throw new CorruptFileException(path, $"invalid value: {problem}.");
    }

    internal static string Describe(Manifest manifest) => Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(manifest, JsonOptions));
}
