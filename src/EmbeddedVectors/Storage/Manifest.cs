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
    /// <summary>
    /// The newest manifest version: 2 added <see cref="Rows"/>. A store with float32 rows still writes version 1,
    /// exactly as before, so older builds keep opening it; one with other rows writes 2, which they refuse.
    /// </summary>
    public const int FormatVersion = 2;

    /// <summary>The version of a manifest whose rows are float32.</summary>
    public const int Float32RowsVersion = 1;

    /// <summary>The header: magic · version · body length (field 0) · body checksum; no header checksum (24 bytes).</summary>
    internal static readonly ChecksummedFile Layout = new("manifest", "EVMANIFS"u8, FormatVersion, fieldCount: 1, hasHeaderChecksum: false, bodyName: "JSON body");
    private const int BodyLengthField = 0;

    public required int Dimension { get; init; }
    public required Metric Metric { get; init; }
    public required int NList { get; init; }
    public required int M { get; init; }
    public CodeLayout CodeLayout { get; init; } = CodeLayout.Pq8;
    public required bool StoreVectors { get; init; }

    /// <summary>How segments encode their re-rank rows (float32 without vectors). Version 2; absent (version 1) means float32.</summary>
    /// <remarks>Written only when not float32 (the enum's default), so float32 manifests keep their version-1 bytes.</remarks>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public RowEncoding Rows { get; init; }
    public required int TrainingThreshold { get; init; }
    public required int SealThreshold { get; init; }
    public bool Trained { get; init; }

    /// <summary>The quantizers work on OPQ-rotated vectors; the rotation is in <see cref="RotationFile"/>. Added without a version bump: absent means false.</summary>
    public bool Opq { get; init; }
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

    public SegmentShape Shape => new(NList, M, Dimension, CodeLayout, StoreVectors, Rows);

    public void Write(string directory)
    {
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions);
        Layout.Write(Path.Combine(directory, FileName), [body.Length], body, version: Rows == RowEncoding.Float32 ? Float32RowsVersion : FormatVersion);
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
        if (file.Version < FormatVersion && manifest.Rows != RowEncoding.Float32)
            throw new CorruptFileException(path, $"invalid value: a version {file.Version} manifest cannot have {manifest.Rows.ToShortName()} rows.");
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
            !Enum.IsDefined(Rows) || (!StoreVectors && Rows != RowEncoding.Float32) ? $"rows {(int)Rows} (store_vectors {StoreVectors})" :
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
