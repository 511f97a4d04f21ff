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
/// <param name="fields">The store's declared metadata fields (a column file is written when there are any).</param>
internal sealed class SegmentBuilder(string directory, long number, SegmentShape shape, long count, RowCodec? rows, IReadOnlyList<FieldDefinition> fields) : IDisposable
{
    private readonly List<object?[]?> _fieldRows = fields.Count == 0 ? [] : new((int)Math.Min(count, 1 << 20));

    private readonly SegmentWriter _codes = SegmentWriter.Create(directory, number, shape, count, rows);
    private readonly SegmentPayloads.Writer _payloads = new(directory, number);

    /// <summary>Appends one entry; <paramref name="fieldRow"/> holds its field values in schema order (null: none).</summary>
    public void Append(int list, ReadOnlySpan<byte> code, long id, ReadOnlySpan<byte> payload, ReadOnlySpan<float> vector, object?[]? fieldRow)
    {
        _codes.Append(list, code, id, _payloads.Append(id, payload), vector);
        if (fields.Count > 0) _fieldRows.Add(fieldRow);
    }

    public SealedSegment Complete()
    {
        // The payload file first: the segment writer's directory sync then covers both names.
        _payloads.Complete();
        if (fields.Count > 0) FieldsFile.Write(directory, number, fields, _fieldRows);
        _codes.Complete();
        return SealedSegment.Open(directory, new SegmentEntry(number, count, 0, Payloads: true, Fields: fields.Count > 0), shape, fields);
    }

    public void Dispose()
    {
        _payloads.Dispose();
        _codes.Dispose();
    }
}
