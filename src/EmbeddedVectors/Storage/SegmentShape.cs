using System.Text.Json.Serialization;
using EmbeddedVectors.Kernels;

namespace EmbeddedVectors.Storage;

/// <summary>How the PQ codes of a segment are laid out in its codes region.</summary>
internal enum CodeLayout : uint
{
    /// <summary>"pq8": one byte per sub-quantizer, code-size bytes an entry, entries in position order.</summary>
    Pq8 = 1,

    /// <summary>
    /// "pq4fs": 4-bit codes (16 centroids a sub-quantizer) packed in blocks of 32 entries for the fast-scan kernels
    /// (see <see cref="FastScan"/>); each list's codes are whole blocks, the last one zero-padded. The code size
    /// is the number of sub-quantizers m: even, 2..256.
    /// </summary>
    Pq4FastScan = 2,
}

/// <summary>
/// What a segment must look like to belong to an index: its cells, code size, dimension, code layout and
/// whether it keeps the full vectors. Written into every segment header and compared on open.
/// </summary>
/// <param name="NList">Number of inverted lists (IVF cells), at least 1.</param>
/// <param name="CodeSize">
/// Bytes of an unpacked PQ code, one a sub-quantizer, at least 1: for <see cref="CodeLayout.Pq8"/> also the bytes
/// a code takes on disk; for <see cref="CodeLayout.Pq4FastScan"/> the number of sub-quantizers m (even, 2..256),
/// stored packed at half a byte each.
/// </param>
/// <param name="Dimension">Floats a vector, at least 1.</param>
/// <param name="Layout">How codes are stored.</param>
/// <param name="HasVectors">True when a <c>.evv</c> file with the full vectors goes with the segment.</param>
/// <param name="Rows">How the <c>.evv</c> file encodes them; <see cref="RowEncoding.Float32"/> when there are none.</param>
/// <remarks>
/// The manifest serialises its shape too: <see cref="Rows"/> is left out when float32 (the default), so float32 stores
/// keep writing exactly the manifest bytes they always did.
/// </remarks>
internal readonly record struct SegmentShape(int NList, int CodeSize, int Dimension, CodeLayout Layout, bool HasVectors,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] RowEncoding Rows = RowEncoding.Float32)
{
    /// <summary>Throws <see cref="ArgumentException"/> when a field is out of range.</summary>
    internal void Validate(string paramName)
    {
        if (NList < 1) throw new ArgumentOutOfRangeException(paramName, NList, "nlist must be at least 1.");
        if (CodeSize < 1) throw new ArgumentOutOfRangeException(paramName, CodeSize, "The code size must be at least 1 byte.");
        if (Dimension < 1) throw new ArgumentOutOfRangeException(paramName, Dimension, "The dimension must be at least 1.");
        if (Layout != CodeLayout.Pq8 && Layout != CodeLayout.Pq4FastScan)
            throw new ArgumentOutOfRangeException(paramName, Layout, "Unknown code layout.");
        if (!Enum.IsDefined(Rows) || (!HasVectors && Rows != RowEncoding.Float32))
            throw new ArgumentOutOfRangeException(paramName, Rows, "Unknown row encoding, or an encoding other than float32 without vectors.");
        if (Layout == CodeLayout.Pq4FastScan)
        {
            try
            {
                FastScan.ValidateM(CodeSize);
            }
            catch (ArgumentException)
            {
                throw new ArgumentOutOfRangeException(paramName, CodeSize,
                    "For the pq4fs layout the code size is the number of sub-quantizers m, which must be even and between 2 and 256.");
            }
        }
    }

    /// <summary>
    /// The most entries one list can hold, so that its codes still fit one <see cref="Span{T}"/>: code size
    /// bytes an entry for pq8, whole blocks of 32 entries for pq4fs. Only for a validated shape.
    /// </summary>
    internal int MaxListEntries => Layout == CodeLayout.Pq4FastScan
        ? int.MaxValue / FastScan.BlockBytes(CodeSize) * FastScan.BlockSize
        : int.MaxValue / CodeSize;

    /// <summary>Bytes the codes of a list of <paramref name="count"/> entries take in the codes region.</summary>
    internal long ListCodeBytes(long count) => Layout == CodeLayout.Pq4FastScan
        ? checked((count + FastScan.BlockSize - 1) / FastScan.BlockSize * FastScan.BlockBytes(CodeSize))
        : checked(count * CodeSize);

    /// <summary>Bytes one row takes in the <c>.evv</c> file.</summary>
    internal long RowBytes => (long)Dimension * Rows.BytesPerValue();

    /// <summary>
    /// The oldest segment format version that can describe this shape: 1 for float32 rows, 2 when the header must
    /// record another row encoding. Writers write <see cref="SegmentHeader.NewestFormatVersion"/>; this bounds the
    /// older versions a test may write.
    /// </summary>
    internal uint OldestFormatVersion => Rows == RowEncoding.Float32 ? 1u : SegmentHeader.RowsFormatVersion;

    /// <summary>Describes the first field in which <paramref name="actual"/> differs from this shape, or null when equal.</summary>
    internal string? FirstDifference(SegmentShape actual)
    {
        if (actual.NList != NList) return $"nlist is {actual.NList}, expected {NList}";
        if (actual.CodeSize != CodeSize) return $"code size is {actual.CodeSize}, expected {CodeSize}";
        if (actual.Dimension != Dimension) return $"dimension is {actual.Dimension}, expected {Dimension}";
        if (actual.Layout != Layout) return $"code layout is {(uint)actual.Layout}, expected {(uint)Layout} ({Layout})";
        if (actual.HasVectors != HasVectors)
            return actual.HasVectors ? "the segment has vectors, expected none" : "the segment has no vectors, expected vectors";
        if (actual.Rows != Rows) return $"row encoding is {actual.Rows.ToShortName()}, expected {Rows.ToShortName()}";
        return null;
    }
}
