using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Storage;

/// <summary>
/// The OPQ rotation of a store trained with one: a d × d float32 matrix, written once at training and read
/// whole at open. The manifest's <c>opq</c> field says whether the store has one.
/// </summary>
/// <remarks>
/// Layout, little-endian: magic "EVROTATE" (0–7) · format version u32 (8–11) · dimension u32 (12–15) · body
/// checksum XxHash3-64 over bytes 32..end (16–23) · header checksum XxHash3-64 over bytes 0–23 (24–31) ·
/// matrix dimension × dimension f32, row-major (a vector x, as a row, is rotated as x·R).
/// </remarks>
internal static class RotationFile
{
    public const string FileName = "rotation.evq";
    public const int FormatVersion = 1;
    private const int HeaderSize = 32;
    private static readonly byte[] Magic = "EVROTATE"u8.ToArray();

    public static void Write(string directory, OpqRotation rotation)
    {
        var matrix = MemoryMarshal.AsBytes(rotation.Matrix);
        var file = new byte[HeaderSize + matrix.Length];
        Magic.CopyTo(file, 0);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(8), FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(12), rotation.Dimension);
        matrix.CopyTo(file.AsSpan(HeaderSize));
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(16), XxHash3.HashToUInt64(file.AsSpan(HeaderSize)));
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(24), XxHash3.HashToUInt64(file.AsSpan(0, 24)));
        DurableFile.ReplaceAtomically(Path.Combine(directory, FileName), file);
    }

    public static OpqRotation Read(string directory, int dimension)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) throw new CorruptFileException(path, "missing, although the manifest says the store has an OPQ rotation.");
        byte[] file = File.ReadAllBytes(path);
        if (file.Length < HeaderSize || !file.AsSpan(0, 8).SequenceEqual(Magic))
            throw new CorruptFileException(path, "not an EmbeddedVectors rotation file (wrong magic number or shorter than its header).");
        if (XxHash3.HashToUInt64(file.AsSpan(0, 24)) != BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(24)))
            throw new CorruptFileException(path, "header checksum mismatch.");
        int version = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(8));
        if (version > FormatVersion)
            throw new CorruptFileException(path, $"written by a newer EmbeddedVectors (format version {version}); this build reads version {FormatVersion}.");
        int stored = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(12));
        if (stored != dimension) throw new CorruptFileException(path, $"holds a {stored}-dimensional rotation; the store is {dimension}-dimensional.");
        long expected = HeaderSize + 4L * dimension * dimension;
        if (file.Length != expected) throw new CorruptFileException(path, $"truncated or padded: {file.Length} bytes, expected {expected}.");
        if (XxHash3.HashToUInt64(file.AsSpan(HeaderSize)) != BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(16)))
            throw new CorruptFileException(path, "body checksum mismatch: the rotation is damaged.");
        try
        {
            return OpqRotation.FromMatrix(dimension, MemoryMarshal.Cast<byte, float>(file.AsSpan(HeaderSize)));
        }
        catch (ArgumentException e)
        {
            throw new CorruptFileException(path, e.Message);
        }
    }
}
