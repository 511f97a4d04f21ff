using EmbeddedVectors.Storage;

namespace EmbeddedVectors.Lists;

/// <summary>
/// A set of inverted-file cells as one search sees them: for each cell a run of codes with their ids and a test of
/// which are deleted, and the full rows for re-ranking. Implemented by the in-memory lists (the in-memory IVFPQ
/// index and the store's write buffer, through <see cref="CodeListsView"/>) and by a sealed segment
/// (<see cref="SegmentView"/>). A view never changes once made, so a search needs no lock.
/// </summary>
internal interface IInvertedLists
{
    /// <summary>The entries of <paramref name="cell"/> in this view.</summary>
    CellRun Cell(int cell);

    /// <summary>True when codes and rows are in a mapped file, where a read may wait on the disk (so advance notice pays).</summary>
    bool IsMapped { get; }

    /// <summary>True when full rows are kept, so <see cref="Row"/> works.</summary>
    bool HasRows { get; }

    /// <summary>How <see cref="Row"/>'s bytes encode a vector (float32 in memory; a segment's row encoding on disk); null without rows.</summary>
    RowCodec? Rows { get; }

    /// <summary>
    /// The full row, encoded as <see cref="Rows"/> says (the vector as stored: unrotated, normalised for cosine),
    /// and id of the entry at <paramref name="position"/>, a value <see cref="CellRun.Position"/> gave.
    /// </summary>
    ReadOnlySpan<byte> Row(long position, out long id);

    /// <summary>The full row at <paramref name="position"/> without its id (to prefetch it: the id lives elsewhere in memory).</summary>
    ReadOnlySpan<byte> RowAt(long position);
}

/// <summary>
/// The metadata field values of a set of inverted lists: entry <c>i</c> of cell <c>c</c>'s run has its values at
/// index <c>start + i</c> of <see cref="Columns"/>(c). A filter is evaluated against these.
/// </summary>
internal interface IFieldLists
{
    /// <summary>The columns holding cell <paramref name="cell"/>'s entries from index <paramref name="start"/>; null when no field has a value there.</summary>
    FieldColumns? Columns(int cell, out long start);
}

/// <summary>
/// The entries of one cell in one <see cref="IInvertedLists"/>: codes (one byte a sub-quantizer back to back, or
/// fast-scan blocks), ids in the same order, and which of them are deleted. Entry <c>i</c> has the position
/// <c>FirstPosition + i</c> in its source: what <see cref="IInvertedLists.Row"/> takes.
/// </summary>
internal readonly ref struct CellRun(ReadOnlySpan<byte> codes, ReadOnlySpan<long> ids, int count, long firstPosition, Liveness liveness)
{
    public readonly ReadOnlySpan<byte> Codes = codes;
    public readonly ReadOnlySpan<long> Ids = ids;
    public readonly int Count = count;
    public readonly long FirstPosition = firstPosition;
    public readonly Liveness Liveness = liveness;

    public long Position(int index) => FirstPosition + index;
}

/// <summary>Which entries of a run are deleted, as of the view that made the run.</summary>
internal readonly ref struct Liveness
{
    private readonly ReadOnlySpan<long> _deletedAt;
    private readonly long _sequence;
    private readonly DeletionBitmap? _bitmap;
    private readonly long _offset;

    private Liveness(ReadOnlySpan<long> deletedAt, long sequence, DeletionBitmap? bitmap, long offset)
    {
        _deletedAt = deletedAt;
        _sequence = sequence;
        _bitmap = bitmap;
        _offset = offset;
    }

    /// <summary>Nothing is deleted.</summary>
    public static Liveness All => default;

    /// <summary>Entry i is deleted when <paramref name="deletedAt"/>[i] ≤ <paramref name="sequence"/> (the in-memory lists' versions).</summary>
    public static Liveness Versioned(ReadOnlySpan<long> deletedAt, long sequence) => new(deletedAt, sequence, null, 0);

    /// <summary>Entry i is deleted when <paramref name="bitmap"/> marks position <paramref name="offset"/> + i (a sealed segment's bitmap).</summary>
    public static Liveness Bitmap(DeletionBitmap bitmap, long offset) => new(default, 0, bitmap, offset);

    public bool IsDeleted(int index)
    {
        if (!_deletedAt.IsEmpty) return _deletedAt[index] <= _sequence;
        return _bitmap != null && _bitmap.IsDeleted(_offset + index);
    }
}
