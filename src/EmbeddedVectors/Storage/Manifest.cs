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
internal sealed partial record Manifest
{
    [System.Text.RegularExpressions.GeneratedRegex("^quantizers/[0-9]{6}$")]
    private static partial System.Text.RegularExpressions.Regex QuantizerDirectoryPattern();

    /// <summary>The full path of the directory holding the quantizer files.</summary>
    public string QuantizerPath(string storeDirectory) => QuantizerDirectory.Length == 0 ? storeDirectory : Path.Combine(storeDirectory, QuantizerDirectory);

    public const string FileName = "MANIFEST";
    /// <summary>
    /// The newest manifest version. Version 2 added <see cref="Rows"/>, segments that keep their payloads
    /// (<see cref="SegmentEntry.Payloads"/>), the log's own segment size (<see cref="LogSegmentBits"/>) and retrained
    /// quantizers (<see cref="QuantizerDirectory"/>). A manifest that uses none of them is still written as version 1,
    /// exactly as before, so older builds keep opening it; one that uses any is version 2, which they refuse.
    /// </summary>
    public const int FormatVersion = 2;

    /// <summary>The version of a manifest that uses nothing version 2 added.</summary>
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

    /// <summary>
    /// Where the quantizer files are, relative to the store: empty for the store's own directory (training), or
    /// <c>quantizers/NNNNNN</c> after a retraining, which writes new ones beside the old until the manifest names them.
    /// </summary>
    public string QuantizerDirectory { get; init; } = "";

    /// <summary>Mean squared distance of the training sample to its nearest coarse centroid (0 when not recorded): the baseline of drift.</summary>
    public double TrainingCoarseError { get; init; }

    /// <summary>The declared metadata fields, in ordinal order (docs/format/fields.md). Absent means none; a store with fields is version 2.</summary>
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

    // Source-generated (ManifestJson below): reflection-based serialization cost ~100 ms at a process's first open.
    private static JsonSerializerOptions JsonOptions => ManifestJson.Default.Options;

    public SegmentShape Shape => new(NList, M, Dimension, CodeLayout, StoreVectors, Rows);

    /// <summary>True when the manifest uses something only version 2 describes (older builds must refuse it).</summary>
    [JsonIgnore]
    internal bool NeedsVersion2 => Rows != RowEncoding.Float32 || LogSegmentBits != 0 || QuantizerDirectory.Length > 0 || Fields.Count > 0 || Segments.Any(segment => segment.Payloads);

    public void Write(string directory)
    {
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions);
        Layout.Write(Path.Combine(directory, FileName), [body.Length], body, version: NeedsVersion2 ? FormatVersion : Float32RowsVersion);
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
        // The generated deserializer sets every init-only property, so one absent from the body (added after the
        // store was written) arrives as null rather than its initializer's value.
        manifest = manifest with
        {
            Segments = manifest.Segments ?? [],
            QuantizerDirectory = manifest.QuantizerDirectory ?? "",
            Fields = manifest.Fields ?? [],
            CodeLayout = manifest.CodeLayout == 0 ? CodeLayout.Pq8 : manifest.CodeLayout, // stores from before fast-scan have no code_layout
        };
        manifest.Validate(path);
        if (file.Version < FormatVersion && manifest.Rows != RowEncoding.Float32)
            throw new CorruptFileException(path, $"invalid value: a version {file.Version} manifest cannot have {manifest.Rows.ToShortName()} rows.");
        if (file.Version < FormatVersion && manifest.NeedsVersion2)
            throw new CorruptFileException(path, $"invalid value: a version {file.Version} manifest cannot name payload files, a log segment size or retrained quantizers.");
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
            LogSegmentBits != 0 && (LogSegmentBits < 22 || LogSegmentBits > 40) ? $"log segment bits {LogSegmentBits}" :
            QuantizerDirectory.Length > 0 && !QuantizerDirectoryPattern().IsMatch(QuantizerDirectory) ? $"quantizer directory '{QuantizerDirectory}'" :
            !double.IsFinite(TrainingCoarseError) || TrainingCoarseError < 0 ? $"training coarse error {TrainingCoarseError}" :
            null;
        foreach (var segment in Segments)
        {
            if (segment.Number < 1 || segment.Number >= NextSegmentNumber || segment.Count < 0 || segment.DeletionsVersion < 0)
                problem ??= $"segment entry {segment}";
        }
        // The checks a new store's options get (found by afl-fuzz: an odd m for pq4fs failed later in Segment.Open
        // with ArgumentOutOfRangeException, and a field without a name or type made the log replay index an
        // empty column), applied to what the file says.
        problem ??= ArgumentProblem(() => Shape.Validate("shape"));
        problem ??= ArgumentProblem(() => FieldTypes.ValidateSchema(Fields));
        if (problem != null) throw new CorruptFileException(path, $"invalid value: {problem}.");
    }

    /// <summary>The message of the <see cref="ArgumentException"/> <paramref name="check"/> throws, or null when it passes.</summary>
    private static string? ArgumentProblem(Action check)
    {
        try
        {
            check();
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }

    internal static string Describe(Manifest manifest) => Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(manifest, JsonOptions));
}

/// <summary>The manifest's JSON contract, generated at compile time: snake_case names, enums as snake_case strings.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    Converters = [typeof(SnakeCaseEnum<Metric>), typeof(SnakeCaseEnum<CodeLayout>), typeof(SnakeCaseEnum<RowEncoding>), typeof(SnakeCaseEnum<FieldType>)])]
[JsonSerializable(typeof(Manifest))]
internal sealed partial class ManifestJson : JsonSerializerContext;

/// <summary>An enum as its snake_case name (or its <see cref="JsonStringEnumMemberNameAttribute"/>).</summary>
internal sealed class SnakeCaseEnum<T>() : JsonStringEnumConverter<T>(JsonNamingPolicy.SnakeCaseLower) where T : struct, Enum;
