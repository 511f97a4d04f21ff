using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace EmbeddedVectors.Storage;

/// <summary>What a record of the <see cref="IPayloadLog"/> says. The value is the record's first byte.</summary>
internal enum LogRecordKind : byte
{
    /// <summary>An id was inserted or replaced: id, vector and payload.</summary>
    Upsert = 1,

    /// <summary>An id was deleted: id only.</summary>
    Delete = 2,

    /// <summary>
    /// A live payload moved to the log's tail by compaction, so the records before it can be truncated.
    /// Replay treats it as a payload source only: it neither inserts nor deletes.
    /// </summary>
    PayloadCopy = 3,

    /// <summary>
    /// The metadata field values of the <see cref="Upsert"/> of the same id just before it (encoded by
    /// <c>FieldRow.Encode</c>; docs/format/log.md). Same layout as <see cref="PayloadCopy"/>. An upsert without
    /// one has every field null.
    /// </summary>
    Fields = 4,
}

/// <summary>
/// One parsed record of the <see cref="IPayloadLog"/>. The spans point into a buffer that is reused for the
/// next record: copy out whatever must outlive the call that received the view.
/// </summary>
internal readonly ref struct LogRecordView
{
    internal LogRecordView(LogRecordKind kind, long id, ReadOnlySpan<float> vector, ReadOnlySpan<byte> payload, long address)
    {
        Kind = kind;
        Id = id;
        Vector = vector;
        Payload = payload;
        Address = address;
    }

    /// <summary>The kind of record.</summary>
    public LogRecordKind Kind { get; }

    /// <summary>The vector id the record is about.</summary>
    public long Id { get; }

    /// <summary>The vector of an <see cref="LogRecordKind.Upsert"/>; empty for the other kinds.</summary>
    public ReadOnlySpan<float> Vector { get; }

    /// <summary>The payload of an <see cref="LogRecordKind.Upsert"/> or <see cref="LogRecordKind.PayloadCopy"/>; empty for a delete.</summary>
    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>The record's log address: pass it to <see cref="IPayloadLog.ReadPayload"/> to read the payload again.</summary>
    public long Address { get; }
}

/// <summary>Called by <see cref="IPayloadLog.Replay"/> once per record, in log order.</summary>
internal delegate void ReplayHandler(in LogRecordView record);

/// <summary>
/// The byte layout of a log record (the entry an <see cref="IPayloadLog"/> stores; <see cref="FasterPayloadLog"/>
/// stores it as one FasterLog entry, which adds its own length and checksum header around it). Every record starts with the same 4 bytes, then little-endian fields:
/// <code>
/// offset 0  kind      byte    LogRecordKind
/// offset 1  version   byte    record-format version, currently 1
/// offset 2  reserved  uint16  written as 0, ignored when read (keeps the fields below aligned)
/// offset 4  id        int64
/// Upsert:      offset 12 dimension int32, offset 16 dimension float32 values, then payload length int32 and the payload bytes
/// Delete:      nothing more (12 bytes in all)
/// PayloadCopy: offset 12 payload length int32, offset 16 the payload bytes
/// </code>
/// FasterLog entries start 4-byte aligned, so the float values at offset 16 are 4-byte aligned too.
/// A record's length must match its fields exactly; anything else is reported as corruption.
/// The checks and messages every <see cref="IPayloadLog"/> shares (record size limit, expected kind and id,
/// read-only and truncation errors) are here too, so the implementations behave alike.
/// </summary>
internal static class LogRecordFormat
{
    /// <summary>The record-format version this code writes and reads.</summary>
    public const byte Version = 1;

    /// <summary>Kind, version, reserved, id.</summary>
    public const int CommonBytes = 12;

    /// <summary>Bytes of an Upsert record besides its float values and payload bytes.</summary>
    public const int UpsertOverheadBytes = CommonBytes + 4 + 4;

    /// <summary>Bytes of a PayloadCopy record besides its payload bytes.</summary>
    public const int PayloadCopyOverheadBytes = CommonBytes + 4;

    /// <summary>Bytes of a Delete record.</summary>
    public const int DeleteBytes = CommonBytes;

    /// <summary>
    /// The largest record every <see cref="IPayloadLog"/> accepts, in bytes of this framing: the limit of
    /// <see cref="FasterPayloadLog"/> (a FasterLog entry plus its 12-byte header must fit in one 4 MiB page), kept by
    /// every implementation so that a store written through one log can be written through another.
    /// </summary>
    public const int MaxRecordBytes = (1 << 22) - 12;

    /// <summary>The length of an Upsert record, as a long so that huge inputs cannot overflow.</summary>
    public static long UpsertLength(int dimension, int payloadLength) =>
        UpsertOverheadBytes + 4L * dimension + payloadLength;

    /// <summary>The length of a PayloadCopy record.</summary>
    public static long PayloadCopyLength(int payloadLength) => PayloadCopyOverheadBytes + (long)payloadLength;

    /// <summary>Writes an Upsert record; <paramref name="destination"/> is exactly <see cref="UpsertLength"/> bytes.</summary>
    public static void WriteUpsert(Span<byte> destination, long id, ReadOnlySpan<float> vector, ReadOnlySpan<byte> payload)
    {
        WriteCommon(destination, LogRecordKind.Upsert, id);
        BinaryPrimitives.WriteInt32LittleEndian(destination.Slice(CommonBytes), vector.Length);
        int vectorBytes = vector.Length * sizeof(float);
        // Little-endian only (checked when a log is opened), so the floats' in-memory bytes are the file's bytes.
        MemoryMarshal.AsBytes(vector).CopyTo(destination.Slice(CommonBytes + 4));
        int payloadAt = CommonBytes + 4 + vectorBytes;
        BinaryPrimitives.WriteInt32LittleEndian(destination.Slice(payloadAt), payload.Length);
        payload.CopyTo(destination.Slice(payloadAt + 4));
    }

    /// <summary>Writes a Delete record; <paramref name="destination"/> is exactly <see cref="DeleteBytes"/> bytes.</summary>
    public static void WriteDelete(Span<byte> destination, long id) => WriteCommon(destination, LogRecordKind.Delete, id);

    /// <summary>Writes a PayloadCopy record; <paramref name="destination"/> is exactly <see cref="PayloadCopyLength"/> bytes.</summary>
    public static void WritePayloadCopy(Span<byte> destination, long id, ReadOnlySpan<byte> payload)
        => WriteBytesRecord(destination, LogRecordKind.PayloadCopy, id, payload);

    /// <summary>Writes a PayloadCopy or Fields record (id, then length-prefixed bytes); <paramref name="destination"/> is exactly <see cref="PayloadCopyLength"/> bytes.</summary>
    public static void WriteBytesRecord(Span<byte> destination, LogRecordKind kind, long id, ReadOnlySpan<byte> payload)
    {
        WriteCommon(destination, kind, id);
        BinaryPrimitives.WriteInt32LittleEndian(destination.Slice(CommonBytes), payload.Length);
        payload.CopyTo(destination.Slice(CommonBytes + 4));
    }

    private static void WriteCommon(Span<byte> destination, LogRecordKind kind, long id)
    {
        destination[0] = (byte)kind;
        destination[1] = Version;
        BinaryPrimitives.WriteUInt16LittleEndian(destination.Slice(2), 0);
        BinaryPrimitives.WriteInt64LittleEndian(destination.Slice(4), id);
    }

    /// <summary>The length of an Upsert record of <paramref name="vector"/> and <paramref name="payload"/>, checked against <see cref="MaxRecordBytes"/>.</summary>
    /// <exception cref="ArgumentException">The record would be too large; the message says how much payload fits.</exception>
    public static int CheckedUpsertLength(ReadOnlySpan<float> vector, ReadOnlySpan<byte> payload)
    {
        long length = UpsertLength(vector.Length, payload.Length);
        if (length <= MaxRecordBytes)
            return (int)length;
        long room = MaxRecordBytes - UpsertLength(vector.Length, 0);
        if (room < 0)
            throw new ArgumentException($"vector of {vector.Length} floats is too large: a log record is at most {MaxRecordBytes} bytes.", nameof(vector));
        throw new ArgumentException(
            $"payload of {payload.Length} bytes is too large: a log record is at most {MaxRecordBytes} bytes, which leaves {room} bytes of payload beside a {vector.Length}-float vector.",
            nameof(payload));
    }

    /// <summary>The length of a PayloadCopy record of <paramref name="payload"/>, checked against <see cref="MaxRecordBytes"/>.</summary>
    /// <exception cref="ArgumentException">The record would be too large.</exception>
    public static int CheckedPayloadCopyLength(ReadOnlySpan<byte> payload)
    {
        long length = PayloadCopyLength(payload.Length);
        if (length <= MaxRecordBytes)
            return (int)length;
        throw new ArgumentException(
            $"payload of {payload.Length} bytes is too large: a log record is at most {MaxRecordBytes} bytes, which leaves {MaxRecordBytes - PayloadCopyOverheadBytes} bytes of payload.",
            nameof(payload));
    }

    /// <summary>Checks the length of a raw record appended by a test.</summary>
    /// <exception cref="ArgumentException">The record is larger than <see cref="MaxRecordBytes"/>.</exception>
    public static void CheckRawLength(ReadOnlySpan<byte> record)
    {
        if (record.Length > MaxRecordBytes)
            throw new ArgumentException($"record of {record.Length} bytes is too large: a log record is at most {MaxRecordBytes} bytes.", nameof(record));
    }

    /// <summary>
    /// The payload of <paramref name="entry"/>, the record at <paramref name="address"/>, which must be an
    /// <see cref="LogRecordKind.Upsert"/> or <see cref="LogRecordKind.PayloadCopy"/> of <paramref name="expectedId"/>.
    /// </summary>
    /// <exception cref="CorruptFileException">The record is damaged, or of another kind or id.</exception>
    public static byte[] PayloadOf(ReadOnlySpan<byte> entry, long address, long expectedId, string directory)
    {
        LogRecordView record = Parse(entry, address, directory);
        if (record.Kind is not (LogRecordKind.Upsert or LogRecordKind.PayloadCopy) || record.Id != expectedId)
        {
            throw Corrupt(directory, address,
                $"expected an Upsert or PayloadCopy record of id {expectedId}, found a {record.Kind} record of id {record.Id}");
        }
        return record.Payload.IsEmpty ? [] : record.Payload.ToArray();
    }

    /// <summary>
    /// Copies the vector of <paramref name="entry"/>, the record at <paramref name="address"/>, which must be an
    /// <see cref="LogRecordKind.Upsert"/> of <paramref name="expectedId"/>, into <paramref name="destination"/>;
    /// returns its length.
    /// </summary>
    /// <exception cref="CorruptFileException">The record is damaged, or of another kind or id.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than the vector.</exception>
    public static int CopyVector(ReadOnlySpan<byte> entry, long address, long expectedId, Span<float> destination, string directory)
    {
        LogRecordView record = Parse(entry, address, directory);
        if (record.Kind != LogRecordKind.Upsert || record.Id != expectedId)
        {
            throw Corrupt(directory, address,
                $"expected an Upsert record of id {expectedId}, found a {record.Kind} record of id {record.Id}");
        }
        if (destination.Length < record.Vector.Length)
        {
            throw new ArgumentException(
                $"destination has room for {destination.Length} floats, but the vector at log address {address} has {record.Vector.Length}.",
                nameof(destination));
        }
        record.Vector.CopyTo(destination);
        return record.Vector.Length;
    }

    /// <summary>The exception for a write to a log opened read-only.</summary>
    public static InvalidOperationException ReadOnlyLog(string directory) =>
        new($"{directory}: the log is open read-only; it cannot be appended to, committed or truncated.");

    /// <summary>
    /// Checks that <see cref="IPayloadLog.TruncateUntil"/> may truncate until <paramref name="address"/>: not past
    /// <paramref name="tail"/>; returns whether there is anything to do (the address is past <paramref name="begin"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="address"/> is past <paramref name="tail"/>.</exception>
    public static bool CheckTruncation(long address, long begin, long tail)
    {
        if (address > tail)
            throw new ArgumentOutOfRangeException(nameof(address), address, $"cannot truncate past the log's tail address {tail}.");
        return address > begin;
    }

    /// <summary>The exception for a truncation address inside a record (<paramref name="problem"/> says what is there).</summary>
    public static ArgumentException NotARecordStart(long address, string problem) =>
        new($"cannot truncate until address {address}: it is not the start of a record ({problem}).", nameof(address));

    /// <summary>
    /// Parses <paramref name="entry"/>, the record stored at <paramref name="address"/>.
    /// </summary>
    /// <exception cref="CorruptFileException">
    /// The record is too short, of an unknown kind or version, or its lengths do not add up; the message names
    /// <paramref name="directory"/> and <paramref name="address"/>.
    /// </exception>
    public static LogRecordView Parse(ReadOnlySpan<byte> entry, long address, string directory)
    {
        if (entry.Length < CommonBytes)
            throw Corrupt(directory, address, $"{entry.Length} bytes is too short for a record (at least {CommonBytes}); the address is probably not the start of a record");
        byte kindByte = entry[0];
        byte version = entry[1];
        if (kindByte is < (byte)LogRecordKind.Upsert or > (byte)LogRecordKind.Fields)
            throw Corrupt(directory, address, $"unknown record kind {kindByte}; the address is not the start of a record, or the log was written by a newer version");
        var kind = (LogRecordKind)kindByte;
        if (version != Version)
            throw Corrupt(directory, address, $"{kind} record has format version {version}, but only version {Version} can be read");
        long id = BinaryPrimitives.ReadInt64LittleEndian(entry.Slice(4));

        switch (kind)
        {
            case LogRecordKind.Delete:
                if (entry.Length != DeleteBytes)
                    throw Corrupt(directory, address, $"Delete record is {entry.Length} bytes instead of {DeleteBytes}");
                return new LogRecordView(kind, id, default, default, address);

            case LogRecordKind.PayloadCopy or LogRecordKind.Fields:
            {
                if (entry.Length < PayloadCopyOverheadBytes)
                    throw Corrupt(directory, address, $"{kind} record of {entry.Length} bytes is shorter than its fixed fields ({PayloadCopyOverheadBytes} bytes)");
                int payloadLength = BinaryPrimitives.ReadInt32LittleEndian(entry.Slice(CommonBytes));
                if (payloadLength < 0 || PayloadCopyLength(payloadLength) != entry.Length)
                    throw Corrupt(directory, address, $"{kind} record of {entry.Length} bytes claims a payload of {payloadLength} bytes");
                return new LogRecordView(kind, id, default, entry.Slice(PayloadCopyOverheadBytes, payloadLength), address);
            }

            default: // Upsert
            {
                if (entry.Length < UpsertOverheadBytes)
                    throw Corrupt(directory, address, $"Upsert record of {entry.Length} bytes is shorter than its fixed fields ({UpsertOverheadBytes} bytes)");
                int dimension = BinaryPrimitives.ReadInt32LittleEndian(entry.Slice(CommonBytes));
                if (dimension < 0 || UpsertLength(dimension, 0) > entry.Length)
                    throw Corrupt(directory, address, $"Upsert record of {entry.Length} bytes claims a vector of {dimension} floats");
                int payloadAt = CommonBytes + 4 + dimension * sizeof(float);
                int payloadLength = BinaryPrimitives.ReadInt32LittleEndian(entry.Slice(payloadAt));
                if (payloadLength < 0 || UpsertLength(dimension, payloadLength) != entry.Length)
                    throw Corrupt(directory, address, $"Upsert record of {entry.Length} bytes with a vector of {dimension} floats claims a payload of {payloadLength} bytes");
                ReadOnlySpan<float> vector = MemoryMarshal.Cast<byte, float>(entry.Slice(CommonBytes + 4, dimension * sizeof(float)));
                return new LogRecordView(kind, id, vector, entry.Slice(payloadAt + 4, payloadLength), address);
            }
        }
    }

    /// <summary>Throws unless <paramref name="address"/> lies in [<paramref name="begin"/>, <paramref name="end"/>), the records a read can reach.</summary>
    /// <exception cref="CorruptFileException">The address was truncated away or lies past the end.</exception>
    public static void ThrowIfOutside(string directory, long address, long begin, long end)
    {
        if (address < begin)
            throw Corrupt(directory, address, $"no record there: the log begins at address {begin} (earlier records were truncated)");
        if (address >= end)
            throw Corrupt(directory, address, $"no record there: the log ends at address {end}");
    }

    /// <summary>The exception for an address inside the log at which no record starts.</summary>
    public static CorruptFileException NoRecordStart(string directory, long address) => Corrupt(directory, address, "no record starts there");

    /// <summary>The exception for a damaged or unexpected record at <paramref name="address"/> of the log in <paramref name="directory"/>.</summary>
    public static CorruptFileException Corrupt(string directory, long address, string problem) =>
        new(directory, $"log record at address {address}: {problem}");
}
