using FASTER.core;

namespace EmbeddedVectors.Storage;

// Appending: each record is serialised by FasterLog straight into its page (no intermediate buffer, nothing
// allocated per append).
internal sealed partial class FasterPayloadLog
{
    /// <inheritdoc/>
    public unsafe long AppendUpsert(long id, ReadOnlySpan<float> vector, ReadOnlySpan<byte> payload)
    {
        ThrowIfNotWritable();
        int length = LogRecordFormat.CheckedUpsertLength(vector, payload);
        fixed (float* v = vector)
        fixed (byte* p = payload)
            return _log.Enqueue(new UpsertEntry(id, v, vector.Length, p, payload.Length, length));
    }

    /// <inheritdoc/>
    public long AppendDelete(long id)
    {
        ThrowIfNotWritable();
        return _log.Enqueue(new DeleteEntry(id));
    }

    /// <inheritdoc/>
    public long AppendPayloadCopy(long id, ReadOnlySpan<byte> payload) => AppendBytesRecord(LogRecordKind.PayloadCopy, id, payload);

    /// <inheritdoc/>
    public long AppendFields(long id, ReadOnlySpan<byte> fields) => AppendBytesRecord(LogRecordKind.Fields, id, fields);

    private unsafe long AppendBytesRecord(LogRecordKind kind, long id, ReadOnlySpan<byte> payload)
    {
        ThrowIfNotWritable();
        int length = LogRecordFormat.CheckedPayloadCopyLength(payload);
        fixed (byte* p = payload)
            return _log.Enqueue(new PayloadCopyEntry(kind, id, p, payload.Length, length));
    }

    /// <summary>Appends <paramref name="record"/> as it is, unframed: for tests that need a damaged record.</summary>
    internal long AppendRawForTesting(ReadOnlySpan<byte> record)
    {
        ThrowIfNotWritable();
        LogRecordFormat.CheckRawLength(record);
        return _log.Enqueue(record);
    }

    // Entries FasterLog serialises straight into its page (no intermediate buffer). They hold pointers to spans
    // pinned by the caller for the duration of the synchronous Enqueue call. SerializeTo runs inside FASTER's
    // epoch protection and must not throw: the lengths are checked before.

    private readonly unsafe struct UpsertEntry(long id, float* vector, int dimension, byte* payload, int payloadLength, int length) : ILogEnqueueEntry
    {
        public int SerializedLength => length;

        public void SerializeTo(Span<byte> dest) =>
            LogRecordFormat.WriteUpsert(dest.Slice(0, length), id, new ReadOnlySpan<float>(vector, dimension), new ReadOnlySpan<byte>(payload, payloadLength));
    }

    private readonly struct DeleteEntry(long id) : ILogEnqueueEntry
    {
        public int SerializedLength => LogRecordFormat.DeleteBytes;

        public void SerializeTo(Span<byte> dest) => LogRecordFormat.WriteDelete(dest.Slice(0, LogRecordFormat.DeleteBytes), id);
    }

    private readonly unsafe struct PayloadCopyEntry(LogRecordKind kind, long id, byte* payload, int payloadLength, int length) : ILogEnqueueEntry
    {
        public int SerializedLength => length;

        public void SerializeTo(Span<byte> dest) =>
            LogRecordFormat.WriteBytesRecord(dest.Slice(0, length), kind, id, new ReadOnlySpan<byte>(payload, payloadLength));
    }
}
