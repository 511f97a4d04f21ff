namespace EmbeddedVectors.Storage;

/// <summary>How the PQ codes of a segment are laid out in its codes region.</summary>
internal enum CodeLayout : uint
{
    /// <summary>"pq8": one byte per sub-quantizer, code-size bytes an entry, entries in position order.</summary>
    Pq8 = 1,

    /// <summary>"pq4fs": reserved for 4-bit codes interleaved for fast-scan kernels; format version 1 has no such segments.</summary>
    Pq4FastScan = 2,
}

/// <summary>
/// What a segment must look like to belong to an index: its cells, code size, dimension, code layout and
/// whether it keeps the full vectors. Written into every segment header and compared on open.
/// </summary>
/// <param name="NList">Number of inverted lists (IVF cells), at least 1.</param>
/// <param name="CodeSize">Bytes a PQ code, at least 1.</param>
/// <param name="Dimension">Floats a vector, at least 1.</param>
/// <param name="Layout">How codes are stored.</param>
/// <param name="HasVectors">True when a <c>.evv</c> file with the full vectors goes with the segment.</param>
internal readonly record struct SegmentShape(int NList, int CodeSize, int Dimension, CodeLayout Layout, bool HasVectors)
{
    /// <summary>Throws <see cref="ArgumentException"/> when a field is out of range.</summary>
    internal void Validate(string paramName)
    {
        if (NList < 1) throw new ArgumentOutOfRangeException(paramName, NList, "nlist must be at least 1.");
        if (CodeSize < 1) throw new ArgumentOutOfRangeException(paramName, CodeSize, "The code size must be at least 1 byte.");
        if (Dimension < 1) throw new ArgumentOutOfRangeException(paramName, Dimension, "The dimension must be at least 1.");
        if (Layout != CodeLayout.Pq8 && Layout != CodeLayout.Pq4FastScan)
            throw new ArgumentOutOfRangeException(paramName, Layout, "Unknown code layout.");
    }

    /// <summary>Describes the first field in which <paramref name="actual"/> differs from this shape, or null when equal.</summary>
    internal string? FirstDifference(SegmentShape actual)
    {
        if (actual.NList != NList) return $"nlist is {actual.NList}, expected {NList}";
        if (actual.CodeSize != CodeSize) return $"code size is {actual.CodeSize}, expected {CodeSize}";
        if (actual.Dimension != Dimension) return $"dimension is {actual.Dimension}, expected {Dimension}";
        if (actual.Layout != Layout) return $"code layout is {(uint)actual.Layout}, expected {(uint)Layout} ({Layout})";
        if (actual.HasVectors != HasVectors)
            return actual.HasVectors ? "the segment has vectors, expected none" : "the segment has no vectors, expected vectors";
        return null;
    }
}
