namespace EmbeddedVectors.Storage;

/// <summary>
/// The store's write-ahead log and payload store, as the store uses it: records of
/// <see cref="LogRecordKind.Upsert"/>, <see cref="LogRecordKind.Delete"/> and <see cref="LogRecordKind.PayloadCopy"/>
/// (framed by <see cref="LogRecordFormat"/>) appended at increasing addresses, made durable by commits, read back
/// one at a time by address and replayed in order. <see cref="FasterPayloadLog"/> is the on-disk log;
/// <see cref="InMemoryPayloadLog"/> keeps records in memory, for tests.
/// </summary>
/// <remarks>
/// <para>
/// <b>Addresses.</b> An address is a 64-bit value that the store persists (the manifest's sealed-until address,
/// every segment entry's payload address) and hands back to the same log, unchanged. It is <b>opaque</b> to
/// everything but the log that issued it: the store never computes with one, only stores, compares and passes it
/// back. The rules every implementation keeps:
/// </para>
/// <list type="bullet">
/// <item>Addresses increase monotonically in append order: a record appended later has a larger address, and
/// <see cref="TailAddress"/> (the address the next record gets) is larger than every existing record's.</item>
/// <item>No record has an address of 0 or less. An address of 0 means "none": the manifest of a store that has
/// sealed nothing holds 0, and <see cref="Replay"/> from 0 starts at the beginning.</item>
/// <item><see cref="CommittedUntilAddress"/> is the end of the last commit: the address the first record after
/// it gets, so it is a valid place to <see cref="Replay"/> or <see cref="TruncateUntil"/> from.</item>
/// <item>An address stays valid (reads return the same record) until <see cref="TruncateUntil"/> drops it. A
/// crash may drop records after the last commit; their addresses may then be issued again.</item>
/// </list>
/// <para>
/// <b>Durability.</b> Exactly "up to the last completed commit": <see cref="Commit"/> returns once every record
/// appended before it is durable, and opening the log again recovers to the last commit. Records appended after
/// it may or may not come back after a crash or a <see cref="IDisposable.Dispose"/> without a commit (Dispose
/// does not commit).
/// </para>
/// <para>
/// <b>Limits.</b> A record (our framing, vector and payload) is at most <see cref="LogRecordFormat.MaxRecordBytes"/>
/// bytes in every implementation; appends of larger ones throw <see cref="ArgumentException"/> and append nothing.
/// </para>
/// <para>
/// <b>Threads.</b> Appends and commits may come from any threads; any number of threads may read while others
/// append; each <see cref="Replay"/> is independent, and its handler may call back into the log (even append).
/// Only Dispose must not race with anything else.
/// </para>
/// <para>
/// <b>Read-only mode.</b> A log opened read-only is a viewer of a log that another instance writes: it sees that
/// writer's commits as of its last <see cref="Refresh"/>; <see cref="Replay"/> refreshes first, and a read of an
/// address past the view refreshes once. Appends, commits and truncation throw <see cref="InvalidOperationException"/>.
/// </para>
/// <para>
/// <b>Errors.</b> A record that is missing (truncated, past the end, not a record start), damaged, or of another
/// kind or id than expected is reported as a <see cref="CorruptFileException"/> whose message names
/// <see cref="Directory"/> and the address. Every member of a disposed log but Dispose throws
/// <see cref="ObjectDisposedException"/>.
/// </para>
/// </remarks>
internal interface IPayloadLog : IDisposable
{
    /// <summary>The log's directory as a full path (what error messages name; an in-memory log reports the directory it was opened for).</summary>
    string Directory { get; }

    /// <summary>Whether the log was opened read-only.</summary>
    bool IsReadOnly { get; }

    /// <summary>The address of the first record still in the log (it moves forward with <see cref="TruncateUntil"/>).</summary>
    long BeginAddress { get; }

    /// <summary>The address the next record will get. In read-only mode, where nothing is appended, the end of the committed view.</summary>
    long TailAddress { get; }

    /// <summary>Every record before this address is durable (in read-only mode: as of the last <see cref="Refresh"/>).</summary>
    long CommittedUntilAddress { get; }

    /// <summary>Appends an upsert of <paramref name="id"/>; returns the record's address, which stays valid until truncated.</summary>
    /// <exception cref="ArgumentException">The record would be larger than <see cref="LogRecordFormat.MaxRecordBytes"/>.</exception>
    long AppendUpsert(long id, ReadOnlySpan<float> vector, ReadOnlySpan<byte> payload);

    /// <summary>Appends a delete of <paramref name="id"/>; returns the record's address.</summary>
    long AppendDelete(long id);

    /// <summary>Appends a copy of <paramref name="id"/>'s payload (written by compaction); returns the record's address.</summary>
    /// <exception cref="ArgumentException">The record would be larger than <see cref="LogRecordFormat.MaxRecordBytes"/>.</exception>
    long AppendPayloadCopy(long id, ReadOnlySpan<byte> payload);

    /// <summary>Appends the field values of <paramref name="id"/>, right after its upsert; returns the record's address.</summary>
    /// <exception cref="ArgumentException">The record would be larger than <see cref="LogRecordFormat.MaxRecordBytes"/>.</exception>
    long AppendFields(long id, ReadOnlySpan<byte> fields);

    /// <summary>Returns once every record appended before the call is durable.</summary>
    void Commit();

    /// <summary>Completes once every record appended before the call is durable.</summary>
    ValueTask CommitAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads the payload of the <see cref="LogRecordKind.Upsert"/> or <see cref="LogRecordKind.PayloadCopy"/>
    /// record of <paramref name="expectedId"/> at <paramref name="address"/>. Any appended record can be read,
    /// committed or not; reading one not yet committed may commit (FASTER must flush a record to read it; the
    /// in-memory log commits too), which only makes more durable.
    /// </summary>
    /// <exception cref="CorruptFileException">No such record there, or one of another kind or id.</exception>
    byte[] ReadPayload(long address, long expectedId);

    /// <summary>
    /// Copies the vector of the <see cref="LogRecordKind.Upsert"/> record of <paramref name="expectedId"/> at
    /// <paramref name="address"/> into <paramref name="destination"/>; returns the vector's length.
    /// </summary>
    /// <exception cref="CorruptFileException">As for <see cref="ReadPayload"/>, or the record is not an Upsert.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than the vector.</exception>
    int ReadVector(long address, long expectedId, Span<float> destination);

    /// <summary>
    /// Calls <paramref name="handler"/> for every committed record from <paramref name="fromAddress"/> (raised to
    /// <see cref="BeginAddress"/> when below it; otherwise a record's address or <see cref="CommittedUntilAddress"/>)
    /// to the committed end as of the call, in log order. The view is valid only during the call; nothing is
    /// allocated per record.
    /// </summary>
    /// <exception cref="CorruptFileException">A record is damaged or of an unknown kind or version; the message names its address.</exception>
    void Replay(long fromAddress, ReplayHandler handler);

    /// <summary>
    /// Drops every record before <paramref name="address"/> (a record's address, or <see cref="TailAddress"/>),
    /// then commits. An address at or below <see cref="BeginAddress"/> changes nothing.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="address"/> is past <see cref="TailAddress"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="address"/> is not the start of a record.</exception>
    void TruncateUntil(long address);

    /// <summary>Read-only mode: loads the writer's latest commit, so that records committed since are visible. Does nothing on a writable log.</summary>
    void Refresh();

    /// <summary>
    /// The start of every <see cref="Replay"/> (after the implementation's own disposed check): checks
    /// <paramref name="handler"/>, refreshes a read-only <paramref name="log"/>, and returns the committed range to
    /// replay, empty when <c>From &gt;= End</c>.
    /// </summary>
    internal static (long From, long End) ReplayRange(IPayloadLog log, long fromAddress, ReplayHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (log.IsReadOnly)
            log.Refresh();
        return (Math.Max(fromAddress, log.BeginAddress), log.CommittedUntilAddress);
    }
}
