using System.Text.Json.Serialization;

namespace EmbeddedVectors;

/// <summary>
/// How a store keeps the full vectors it re-ranks with (its re-rank rows), chosen at
/// <see cref="EmbeddedVectorStore.Create"/> and fixed for the store's life. Re-ranking computes the exact distance
/// between the float32 query and the stored row, so the row's precision is the only approximation.
/// <see cref="EmbeddedVectorStore.Get"/> returns a sealed entry's vector at this precision.
/// </summary>
public enum RowEncoding
{
    /// <summary><c>f32</c>: IEEE single precision, 4 × dimension bytes a vector; the vectors exactly as added.</summary>
    [JsonStringEnumMemberName("f32")]
    Float32 = 0,

    /// <summary>
    /// <c>f16</c>: IEEE half precision, 2 × dimension bytes a vector (11 significant bits, round to nearest).
    /// Values beyond ±65504, the largest half, are clamped to it when a segment is written (embeddings never get
    /// there).
    /// </summary>
    [JsonStringEnumMemberName("f16")]
    Float16 = 1,

    /// <summary>
    /// <c>i8</c>: one byte a value, dimension bytes a vector: x ≈ offset[j] + scale[j] × code, code 0..255, with a
    /// per-dimension offset and scale learned from the training sample (its minimum and range). Values outside the
    /// trained range are clamped to it.
    /// </summary>
    [JsonStringEnumMemberName("i8")]
    Int8 = 2,
}

/// <summary>Short names of <see cref="RowEncoding"/> values, as the manifest, the CLI and <c>StoreInfo.Rows</c> spell them.</summary>
public static class RowEncodingNames
{
    /// <summary><c>f32</c>, <c>f16</c> or <c>i8</c>.</summary>
    public static string ToShortName(this RowEncoding encoding) => encoding switch
    {
        RowEncoding.Float32 => "f32",
        RowEncoding.Float16 => "f16",
        RowEncoding.Int8 => "i8",
        _ => throw new ArgumentOutOfRangeException(nameof(encoding), encoding, "Unknown row encoding."),
    };

    /// <summary>Parses <c>f32</c>, <c>f16</c> or <c>i8</c> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">Any other text.</exception>
    public static RowEncoding Parse(string text) => (text ?? throw new ArgumentNullException(nameof(text))).Trim().ToLowerInvariant() switch
    {
        "f32" => RowEncoding.Float32,
        "f16" => RowEncoding.Float16,
        "i8" => RowEncoding.Int8,
        _ => throw new ArgumentException($"Unknown row encoding '{text}'. Use f32, f16 or i8.", nameof(text)),
    };

    /// <summary>Bytes a <paramref name="dimension"/>-dimensional vector takes in a row of this encoding.</summary>
    public static long BytesPerRow(this RowEncoding encoding, int dimension) => (long)encoding.BytesPerValue() * dimension;

    /// <summary>Bytes one value takes in a row of this encoding.</summary>
    internal static int BytesPerValue(this RowEncoding encoding) => encoding switch
    {
        RowEncoding.Float16 => 2,
        RowEncoding.Int8 => 1,
        _ => 4,
    };
}
