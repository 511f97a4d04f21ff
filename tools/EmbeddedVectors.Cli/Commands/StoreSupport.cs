using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using EmbeddedVectors.IO;

namespace EmbeddedVectors.Cli.Commands;

/// <summary>What the store commands share: opening a store with clear errors, ids, sizes and JSON payloads.</summary>
internal static class StoreSupport
{
    public static readonly JsonWriterOptions CompactJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    public static readonly JsonWriterOptions IndentedJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = true };

    /// <summary>Opens the store in <paramref name="directory"/>; a missing directory or a non-store is a user error.</summary>
    public static EmbeddedVectorStore Open(string directory, bool readOnly, bool? readAhead = null)
    {
        RequireStore(directory);
        return EmbeddedVectorStore.Open(directory, new EmbeddedVectorStoreOptions { ReadOnly = readOnly, ReadAhead = readAhead });
    }

    public static void RequireStore(string directory)
    {
        if (File.Exists(directory))
            throw new UserErrorException($"{directory} is a file; a store is a directory (made with 'ev create').");
        if (!Directory.Exists(directory))
            throw new UserErrorException($"No store at {directory}: the directory does not exist. Create one with 'ev create {directory} --dim D'.");
        if (!EmbeddedVectorStore.Exists(directory))
            throw new UserErrorException($"{directory} is not an EmbeddedVectors store (it has no MANIFEST). Create one with 'ev create DIR --dim D'.");
    }

    /// <summary><c>pq8</c> (8-bit PQ) or <c>pq4fs</c> (4-bit fast-scan PQ).</summary>
    public static VectorCodes ParseCodes(string text) => text.ToLowerInvariant() switch
    {
        "pq8" => VectorCodes.Pq8,
        "pq4fs" => VectorCodes.Pq4FastScan,
        _ => throw new UserErrorException($"Unknown --codes '{text}'. Use pq8 (8-bit PQ) or pq4fs (4-bit fast-scan PQ)."),
    };

    /// <summary><c>f32</c>, <c>f16</c> or <c>i8</c>; null when not given (the library's default).</summary>
    public static RowEncoding? ParseRows(string? text)
    {
        if (text == null) return null;
        try { return RowEncodingNames.Parse(text); }
        catch (ArgumentException) { throw new UserErrorException($"Unknown --rows '{text}'. Use f32, f16 or i8."); }
    }

    public static Metric ParseMetric(string? text)
    {
        if (text == null) return Metric.L2;
        try { return MetricNames.Parse(text); }
        catch (ArgumentException) { throw new UserErrorException($"Unknown metric '{text}'. Use l2, ip or cosine."); }
    }

    public static long ParseId(string text)
        => long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long id)
            ? id
            : throw new UserErrorException($"'{text}' is not an id: ids are whole numbers.");

    /// <summary>Opens a vector file for reading, with a user error (not a stack trace) when it is missing.</summary>
    public static VectorFileReader OpenVectors(string path, string what)
    {
        if (Directory.Exists(path)) throw new UserErrorException($"{what} {path} is a directory, not a vector file.");
        if (!File.Exists(path)) throw new UserErrorException($"{what} not found: {path}");
        return VectorFileReader.Open(path);
    }

    public static string Bytes(long bytes)
    {
        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes:N0} bytes" : $"{value:F1} {units[unit]} ({bytes:N0} bytes)";
    }

    /// <summary>Writes a payload as the JSON it holds, as a string when it is not JSON, or null when it is empty or gone.</summary>
    public static void WritePayload(Utf8JsonWriter writer, byte[]? payload)
    {
        if (payload == null || payload.Length == 0)
        {
            writer.WriteNullValue();
            return;
        }
        JsonDocument? document = null;
        try { document = JsonDocument.Parse(payload); }
        catch (JsonException) { }
        if (document == null)
        {
            writer.WriteStringValue(Encoding.UTF8.GetString(payload));
            return;
        }
        using (document) document.WriteTo(writer);
    }

    /// <summary>A short one-line view of a payload for tables.</summary>
    public static string PayloadPreview(byte[]? payload, int maxChars = 60)
    {
        if (payload == null) return "(deleted)";
        string text = Encoding.UTF8.GetString(payload).ReplaceLineEndings(" ");
        return text.Length <= maxChars ? text : text[..(maxChars - 1)] + "…";
    }

    /// <summary>Writes JSON built by <paramref name="build"/> to standard output, followed by a newline.</summary>
    public static void PrintJson(Action<Utf8JsonWriter> build, bool indented = false)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, indented ? IndentedJson : CompactJson)) build(writer);
        Console.Out.WriteLine(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }
}
