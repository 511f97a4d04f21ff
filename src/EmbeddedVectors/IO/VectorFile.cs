namespace EmbeddedVectors.IO;

/// <summary>Whole-file helpers over <see cref="VectorFileReader"/> and <see cref="VectorFileWriter"/> for data that fits in memory.</summary>
public static class VectorFile
{
    /// <summary>Reads a vector file (or its first <paramref name="maxRows"/> rows) into one row-major float array.</summary>
    /// <param name="path">An .fvecs, .ivecs, .bvecs or .npy file; integer values are converted to float.</param>
    /// <param name="dimension">Receives the number of values per row.</param>
    /// <param name="maxRows">The most rows to read.</param>
    /// <exception cref="ArgumentException">The extension is unknown, or <paramref name="maxRows"/> is negative.</exception>
    /// <exception cref="CorruptFileException">The file is damaged or of an unsupported layout.</exception>
    /// <exception cref="EmbeddedVectorsException">The rows do not fit in one array; read fewer or stream them with <see cref="VectorFileReader"/>.</exception>
    public static float[] ReadAllFloats(string path, out int dimension, long maxRows = long.MaxValue)
    {
        using var reader = VectorFileReader.Open(path);
        dimension = reader.Dimension;
        // Every value is overwritten below, so skip zeroing what can be hundreds of megabytes.
        float[] values = GC.AllocateUninitializedArray<float>(ValueCount(reader, maxRows));
        int read = 0;
        while (read < values.Length)
        {
            int rows = reader.ReadFloats(values.AsSpan(read));
            if (rows == 0)
                throw new CorruptFileException(path, $"the file ended early, after {read / dimension} of {values.Length / dimension} rows (was it truncated while open?)");
            read += rows * dimension;
        }
        return values;
    }

    /// <summary>
    /// Reads an integer vector file (such as a ground-truth .ivecs, or an integer .npy) or its first
    /// <paramref name="maxRows"/> rows into one row-major int array.
    /// </summary>
    /// <param name="path">An .ivecs, .bvecs or integer .npy file.</param>
    /// <param name="dimension">Receives the number of values per row.</param>
    /// <param name="maxRows">The most rows to read.</param>
    /// <exception cref="ArgumentException">The extension is unknown, or <paramref name="maxRows"/> is negative.</exception>
    /// <exception cref="CorruptFileException">The file is damaged, holds floats, or holds a 64-bit value that does not fit in 32 bits.</exception>
    /// <exception cref="EmbeddedVectorsException">The rows do not fit in one array.</exception>
    public static int[] ReadAllInt32(string path, out int dimension, long maxRows = long.MaxValue)
    {
        using var reader = VectorFileReader.Open(path);
        dimension = reader.Dimension;
        int[] values = GC.AllocateUninitializedArray<int>(ValueCount(reader, maxRows));
        int read = 0;
        while (read < values.Length)
        {
            int rows = reader.ReadInt32(values.AsSpan(read));
            if (rows == 0)
                throw new CorruptFileException(path, $"the file ended early, after {read / dimension} of {values.Length / dimension} rows (was it truncated while open?)");
            read += rows * dimension;
        }
        return values;
    }

    /// <summary>Writes row-major float rows as a TEXMEX .fvecs file.</summary>
    /// <exception cref="ArgumentException">The extension does not name this format, or the length is not a multiple of <paramref name="dimension"/>.</exception>
    public static void WriteFvecs(string path, ReadOnlySpan<float> rows, int dimension)
    {
        using var writer = Create(path, VectorFileFormat.Fvecs, dimension, VectorElementType.Float32);
        writer.WriteFloats(rows);
    }

    /// <summary>Writes row-major int rows as a TEXMEX .ivecs file.</summary>
    /// <exception cref="ArgumentException">The extension does not name this format, or the length is not a multiple of <paramref name="dimension"/>.</exception>
    public static void WriteIvecs(string path, ReadOnlySpan<int> rows, int dimension)
    {
        using var writer = Create(path, VectorFileFormat.Ivecs, dimension, VectorElementType.Int32);
        writer.WriteInt32(rows);
    }

    /// <summary>Writes row-major byte rows as a TEXMEX .bvecs file.</summary>
    /// <exception cref="ArgumentException">The extension does not name this format, or the length is not a multiple of <paramref name="dimension"/>.</exception>
    public static void WriteBvecs(string path, ReadOnlySpan<byte> rows, int dimension)
    {
        using var writer = Create(path, VectorFileFormat.Bvecs, dimension, VectorElementType.UInt8);
        writer.WriteBytes(rows);
    }

    /// <summary>Writes row-major float rows as a .npy file of dtype <c>&lt;f4</c> and shape (rows, dimension).</summary>
    /// <exception cref="ArgumentException">The extension does not name this format, or the length is not a multiple of <paramref name="dimension"/>.</exception>
    public static void WriteNpy(string path, ReadOnlySpan<float> rows, int dimension)
    {
        using var writer = Create(path, VectorFileFormat.Npy, dimension, VectorElementType.Float32);
        writer.WriteFloats(rows);
    }

    /// <summary>Writes row-major long rows as a .npy file of dtype <c>&lt;i8</c> and shape (rows, dimension).</summary>
    /// <exception cref="ArgumentException">The extension does not name this format, or the length is not a multiple of <paramref name="dimension"/>.</exception>
    public static void WriteNpy(string path, ReadOnlySpan<long> rows, int dimension)
    {
        using var writer = Create(path, VectorFileFormat.Npy, dimension, VectorElementType.Int64);
        writer.WriteInt64(rows);
    }

    private static VectorFileWriter Create(string path, VectorFileFormat format, int dimension, VectorElementType type)
    {
        // Writing another format than the method's name says would surprise whoever reads the file next.
        if (VectorFileFormats.FromPath(path) != format)
        {
            string extension = format switch
            {
                VectorFileFormat.Fvecs => ".fvecs",
                VectorFileFormat.Ivecs => ".ivecs",
                VectorFileFormat.Bvecs => ".bvecs",
                _ => ".npy",
            };
            throw new ArgumentException($"'{path}' does not end in {extension}, the format this method writes.", nameof(path));
        }
        return VectorFileWriter.Create(path, dimension, type);
    }

    private static int ValueCount(VectorFileReader reader, long maxRows)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxRows);
        long rows = Math.Min(reader.Count, maxRows);
        if (rows > Array.MaxLength / reader.Dimension)
        {
            throw new EmbeddedVectorsException(
                $"{reader.Path}: {rows} rows of dimension {reader.Dimension} do not fit in one array; " +
                $"read at most {Array.MaxLength / reader.Dimension} rows, or stream them with {nameof(VectorFileReader)}.");
        }
        return (int)(rows * reader.Dimension);
    }
}
