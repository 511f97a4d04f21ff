namespace EmbeddedVectors.Storage;

/// <summary>
/// Writes one sealed segment with its payload file: what a seal, a merge and a compaction all do, entry by entry
/// in list order. The segment is opened (and so becomes usable) by <see cref="Complete"/>; disposing an
/// incomplete builder leaves only <c>.tmp</c> files.
/// </summary>
/// <param name="directory">The store directory.</param>
/// <param name="number">The segment's number.</param>
/// <param name="shape">The store's segment shape.</param>
/// <param name="count">Entries that will be appended.</param>
/// <param name="rows">The int8 row parameters when the shape's rows are int8; null otherwise.</param>
internal sealed class SegmentBuilder(string directory, long number, SegmentShape shape, long count, RowCodec? rows) : IDisposable
{
    private readonly SegmentWriter _codes = SegmentWriter.Create(directory, number, shape, count, rows);
    private readonly SegmentPayloads.Writer _payloads = new(directory, number);

    public void Append(int list, ReadOnlySpan<byte> code, long id, ReadOnlySpan<byte> payload, ReadOnlySpan<float> vector)
        => _codes.Append(list, code, id, _payloads.Append(id, payload), vector);

    public SealedSegment Complete()
    {
        // The payload file first: the segment writer's directory sync then covers both names.
        _payloads.Complete();
        _codes.Complete();
        return SealedSegment.Open(directory, new SegmentEntry(number, count, 0, Payloads: true), shape);
    }

    public void Dispose()
    {
        _payloads.Dispose();
        _codes.Dispose();
    }
}
