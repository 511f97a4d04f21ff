namespace EmbeddedVectors.IO;

/// <summary>The on-disk layouts that <see cref="VectorFileReader"/> and <see cref="VectorFileWriter"/> understand.</summary>
public enum VectorFileFormat
{
    /// <summary>TEXMEX <c>.fvecs</c>: per row an int32 dimension, then that many float32 values.</summary>
    Fvecs,

    /// <summary>TEXMEX <c>.ivecs</c>: per row an int32 dimension, then that many int32 values.</summary>
    Ivecs,

    /// <summary>TEXMEX <c>.bvecs</c>: per row an int32 dimension, then that many uint8 values.</summary>
    Bvecs,

    /// <summary>NumPy <c>.npy</c> (header versions 1.0, 2.0 and 3.0), a little-endian 2-D array in C order.</summary>
    Npy,
}

/// <summary>The type of each value stored in a vector file.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifier contains type name",
    Justification = "The members name the stored binary types on purpose, as numpy's dtypes do.")]
public enum VectorElementType
{
    /// <summary>32-bit IEEE float (<c>.fvecs</c>, npy <c>&lt;f4</c>).</summary>
    Float32,

    /// <summary>32-bit signed integer (<c>.ivecs</c>, npy <c>&lt;i4</c>).</summary>
    Int32,

    /// <summary>8-bit unsigned integer (<c>.bvecs</c>, npy <c>|u1</c>).</summary>
    UInt8,

    /// <summary>64-bit signed integer (npy <c>&lt;i8</c>).</summary>
    Int64,
}

/// <summary>Facts shared by the reader and the writer: extensions, element sizes, limits.</summary>
internal static class VectorFileFormats
{
    /// <summary>Larger dimensions are taken as a sign of a damaged or misread file rather than real data.</summary>
    public const int MaxDimension = 1 << 20;

    /// <summary>Maps a file's extension, case-insensitively, to its format.</summary>
    /// <exception cref="ArgumentException">The extension is none of .fvecs, .ivecs, .bvecs, .npy.</exception>
    public static VectorFileFormat FromPath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string extension = System.IO.Path.GetExtension(path);
        if (extension.Equals(".fvecs", StringComparison.OrdinalIgnoreCase)) return VectorFileFormat.Fvecs;
        if (extension.Equals(".ivecs", StringComparison.OrdinalIgnoreCase)) return VectorFileFormat.Ivecs;
        if (extension.Equals(".bvecs", StringComparison.OrdinalIgnoreCase)) return VectorFileFormat.Bvecs;
        if (extension.Equals(".npy", StringComparison.OrdinalIgnoreCase)) return VectorFileFormat.Npy;
        string shown = extension.Length == 0 ? "no extension" : $"extension '{extension}'";
        throw new ArgumentException(
            $"Cannot tell the vector file format of '{path}' from its {shown}. Use .fvecs, .ivecs, .bvecs or .npy.",
            nameof(path));
    }

    /// <summary>Bytes per value.</summary>
    public static int SizeOf(VectorElementType type) => type switch
    {
        VectorElementType.Float32 => 4,
        VectorElementType.Int32 => 4,
        VectorElementType.UInt8 => 1,
        VectorElementType.Int64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown element type."),
    };

    /// <summary>The element type a TEXMEX format stores; npy has none fixed.</summary>
    public static VectorElementType? TexmexElementType(VectorFileFormat format) => format switch
    {
        VectorFileFormat.Fvecs => VectorElementType.Float32,
        VectorFileFormat.Ivecs => VectorElementType.Int32,
        VectorFileFormat.Bvecs => VectorElementType.UInt8,
        _ => null,
    };
}
