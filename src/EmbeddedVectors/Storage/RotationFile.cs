using System.Runtime.InteropServices;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Storage;

/// <summary>
/// The OPQ rotation of a store trained with one: a d × d float32 matrix, written once at training and read
/// whole at open. The manifest's <c>opq</c> field says whether the store has one.
/// </summary>
/// <remarks>
/// Layout, little-endian, a <see cref="ChecksummedFile"/> with one field and a header checksum: magic "EVROTATE"
/// (0–7) · format version int32 (8–11) · dimension int32 (12–15) · body checksum XxHash3-64 over bytes 32..end
/// (16–23) · header checksum XxHash3-64 over bytes 0–23 (24–31) · matrix dimension × dimension f32, row-major (a
/// vector x, as a row, is rotated as x·R).
/// </remarks>
internal static class RotationFile
{
    public const string FileName = "rotation.evq";
    public const int FormatVersion = 1;

    /// <summary>The header; its one field is the dimension.</summary>
    internal static readonly ChecksummedFile Layout = new("rotation file", "EVROTATE"u8, FormatVersion, fieldCount: 1, hasHeaderChecksum: true, bodyName: "rotation matrix");
    private const int DimensionField = 0;

    public static void Write(string directory, OpqRotation rotation) =>
        Layout.Write(Path.Combine(directory, FileName), [rotation.Dimension], MemoryMarshal.AsBytes(rotation.Matrix));

    public static OpqRotation Read(string directory, int dimension)
    {
        string path = Path.Combine(directory, FileName);
        var file = Layout.Read(path, "missing, although the manifest says the store has an OPQ rotation.");
        int stored = file.Field(DimensionField);
        if (stored != dimension) throw new CorruptFileException(path, $"holds a {stored}-dimensional rotation; the store is {dimension}-dimensional.");
        var matrix = MemoryMarshal.Cast<byte, float>(file.Body(4L * dimension * dimension));
        try
        {
            return OpqRotation.FromMatrix(dimension, matrix);
        }
        catch (ArgumentException e)
        {
            throw new CorruptFileException(path, e.Message);
        }
    }
}
