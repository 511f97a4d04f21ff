using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace EmbeddedVectors.Storage;

/// <summary>A sealed segment as the manifest names it.</summary>
/// <param name="Number">The segment's number (its file names).</param>
/// <param name="Count">Entries in it, deleted ones included.</param>
/// <param name="DeletionsVersion">Version of its deletion file; 0 when it has none.</param>
/// <param name="Payloads">
/// True when its payloads are in its own <c>.evp</c> file (manifest version 2); false for segments written
/// before, whose payload addresses point into the log.
/// </param>
/// <param name="Fields">True when its field values are in its own <c>.evf</c> file (docs/format/fields.md); false: every field is null.</param>
internal sealed record SegmentEntry(long Number, long Count, long DeletionsVersion, bool Payloads = false, bool Fields = false);

/// <summary>
/// The root of a store: its shape, the quantizer file, the live segments and the log address up to which every
/// record is sealed into them. Replaced atomically, so a crash leaves the old or the new manifest, never a mix.
/// </summary>
internal sealed record Manifest
{
    public const string FileName = "MANIFEST";
    /// <summary>
    /// 2: segments may keep their payloads (<see cref="SegmentEntry.Payloads"/>) and the log its own segment size
    /// (<see cref="LogSegmentBits"/>), so the log is truncated once entries are sealed. Version 1 manifests (stores
    /// written before) still open; the first manifest this build writes for them is version 2.
    /// </summary>
    public const int FormatVersion = 2;

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
    public long Generation { get; init; }
    public long NextSegmentNumber { get; init; } = 1;
    public long SealedUntilAddress { get; init; }
    public IReadOnlyList<SegmentEntry> Segments { get; init; } = [];

    /// <summary>The declared metadata fields, in ordinal order (docs/format/fields.md). Added without a version bump: absent means none.</summary>
    public IReadOnlyList<FieldDefinition> Fields { get; init; } = [];

    /// <summary>log2 of the log's segment file size; absent (0) in stores written before version 2, which use 28.</summary>
    public int LogSegmentBits { get; init; }

    /// <summary>The log segment size bits to open the log with.</summary>
    public int EffectiveLogSegmentBits => LogSegmentBits == 0 ? LegacyLogSegmentBits : LogSegmentBits;

    /// <summary>What stores before version 2 use: 256 MiB log files.</summary>
    public const int LegacyLogSegmentBits = 28;

    /// <summary>
    /// What new stores use: 32 MiB log files. The log is truncated a whole file at a time, so smaller files give
    /// the write-ahead copies back sooner after a seal.
    /// </summary>
    public const int NewLogSegmentBits = 25;

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
            LogSegmentBits != 0 && (LogSegmentBits < 22 || LogSegmentBits > 40) ? $"log segment bits {LogSegmentBits}" :
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
