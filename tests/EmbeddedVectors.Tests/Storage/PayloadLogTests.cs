using System.Buffers.Binary;
using EmbeddedVectors.Storage;
using Xunit.Abstractions;
using static EmbeddedVectors.Tests.Storage.LogTestData;

namespace EmbeddedVectors.Tests.Storage;

/// <summary>
/// The contract of <see cref="IPayloadLog"/>: the same tests run on <see cref="FasterPayloadLog"/>
/// (<see cref="FasterPayloadLogContractTests"/>) and on <see cref="InMemoryPayloadLog"/>
/// (<see cref="InMemoryPayloadLogContractTests"/>). Tests of one implementation only are in
/// <see cref="FasterPayloadLogTests"/> and <see cref="InMemoryPayloadLogTests"/>.
/// </summary>
public abstract class PayloadLogTests : IDisposable
{
    /// <summary>The name of the log the tests open (a directory inside <see cref="Root"/>).</summary>
    protected readonly string LogName;

    private protected PayloadLogTests(ITestOutputHelper output)
    {
        _output = output;
        LogName = Path.Combine(Root, "log");
    }

    private readonly ITestOutputHelper _output;

    /// <summary>A temporary directory, deleted after the test.</summary>
    protected string Root { get; } = Path.Combine(Path.GetTempPath(), "ev-log-" + Guid.NewGuid().ToString("N"));

    public virtual void Dispose()
    {
        try
        {
            if (Directory.Exists(Root))
                Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A file still open by a failed test must not hide that test's own failure.
        }
    }

    /// <summary>Opens (or reopens: the same records) the test's log, as the store opens its log.</summary>
    private protected abstract IPayloadLog Open(bool readOnly = false);

    /// <summary>Appends <paramref name="record"/> unframed (a damaged record), through the implementation's test hook.</summary>
    private protected abstract long AppendRaw(IPayloadLog log, byte[] record);

    /// <summary>
    /// Ends <paramref name="writer"/> the closest way to a crash the implementation offers in-process: FASTER's
    /// log is disposed without a commit (killing a process is in CrashTests); the in-memory log simulates the crash.
    /// </summary>
    private protected abstract void Crash(IPayloadLog writer);

    [Fact]
    public void All_three_kinds_round_trip_through_commit_and_reopen()
    {
                float[] vector = Vector(7, 12);
        byte[] payload = Payload(7, 33);
        byte[] copied = Payload(9, 5);
        long upsertAt, deleteAt, copyAt, tail;
        using (var log = Open())
        {
            Assert.Equal(Path.GetFullPath(LogName), log.Directory);
            long expected = log.TailAddress;
            upsertAt = log.AppendUpsert(7, vector, payload);
            Assert.Equal(expected, upsertAt);
            Assert.True(log.TailAddress > upsertAt);
            deleteAt = log.AppendDelete(8);
            copyAt = log.AppendPayloadCopy(9, copied);
            Assert.True(upsertAt < deleteAt && deleteAt < copyAt);
            log.Commit();
            tail = log.TailAddress;
            Assert.Equal(tail, log.CommittedUntilAddress);
        }

        using (var log = Open())
        {
            Assert.Equal(tail, log.CommittedUntilAddress);
            Assert.Equal(tail, log.TailAddress);
            Assert.True(log.BeginAddress <= upsertAt);

            List<Seen> seen = ReplayAll(log);
            Assert.Equal(3, seen.Count);
            Assert.Equal((LogRecordKind.Upsert, 7L, upsertAt), (seen[0].Kind, seen[0].Id, seen[0].Address));
            Assert.Equal(vector, seen[0].Vector);
            Assert.Equal(payload, seen[0].Payload);
            Assert.Equal((LogRecordKind.Delete, 8L, deleteAt), (seen[1].Kind, seen[1].Id, seen[1].Address));
            Assert.Empty(seen[1].Vector);
            Assert.Empty(seen[1].Payload);
            Assert.Equal((LogRecordKind.PayloadCopy, 9L, copyAt), (seen[2].Kind, seen[2].Id, seen[2].Address));
            Assert.Empty(seen[2].Vector);
            Assert.Equal(copied, seen[2].Payload);

            Assert.Equal(payload, log.ReadPayload(upsertAt, 7));
            Assert.Equal(copied, log.ReadPayload(copyAt, 9));
            var destination = new float[20];
            Assert.Equal(12, log.ReadVector(upsertAt, 7, destination));
            Assert.Equal(vector, destination[..12]);

            // The log goes on from the recovered tail.
            long next = log.AppendDelete(10);
            Assert.Equal(tail, next);
            log.Commit();
        }
    }

    [Fact]
    public void Replay_starts_at_a_middle_address_and_clamps_to_the_begin_address()
    {
        using var log = Open();
        var addresses = new long[10];
        for (int i = 0; i < addresses.Length; i++)
            addresses[i] = i % 3 == 2 ? log.AppendDelete(i) : log.AppendUpsert(i, Vector(i, 4), Payload(i, i * 10));
        log.Commit();

        List<Seen> fromMiddle = ReplayAll(log, addresses[5]);
        Assert.Equal(addresses[5..], fromMiddle.Select(s => s.Address));
        Assert.Equal(Enumerable.Range(5, 5).Select(i => (long)i), fromMiddle.Select(s => s.Id));

        Assert.Equal(addresses, ReplayAll(log, long.MinValue).Select(s => s.Address));
        Assert.Empty(ReplayAll(log, log.TailAddress));
        Assert.Empty(ReplayAll(log, long.MaxValue));

        // Records appended after the last commit are not replayed: Replay covers the committed log only.
        log.AppendDelete(100);
        Assert.Equal(10, ReplayAll(log).Count);
    }

    [Fact]
    public void Payloads_of_zero_bytes_and_100_KB_round_trip_before_and_after_reopen()
    {
                byte[] big = Payload(2, 100 * 1024);
        long empty, bigAt, emptyCopy, bigCopy, noVector;
        using (var log = Open())
        {
            empty = log.AppendUpsert(1, Vector(1, 8), []);
            bigAt = log.AppendUpsert(2, Vector(2, 384), big);
            emptyCopy = log.AppendPayloadCopy(3, []);
            bigCopy = log.AppendPayloadCopy(4, big);
            noVector = log.AppendUpsert(5, [], Payload(5, 3));

            // Not committed yet: reading commits first, then reads.
            Assert.True(log.CommittedUntilAddress <= empty);
            Assert.Empty(log.ReadPayload(empty, 1));
            Assert.True(log.CommittedUntilAddress > empty);
            Assert.Equal(big, log.ReadPayload(bigAt, 2));
            Assert.Equal(big, log.ReadPayload(bigCopy, 4));
            log.Commit();
        }
        using (var log = Open())
        {
            Assert.Empty(log.ReadPayload(empty, 1));
            Assert.Equal(big, log.ReadPayload(bigAt, 2));
            Assert.Empty(log.ReadPayload(emptyCopy, 3));
            Assert.Equal(big, log.ReadPayload(bigCopy, 4));
            Assert.Equal(Payload(5, 3), log.ReadPayload(noVector, 5));
            Assert.Equal(0, log.ReadVector(noVector, 5, []));
            var v = new float[384];
            Assert.Equal(384, log.ReadVector(bigAt, 2, v));
            Assert.Equal(Vector(2, 384), v);

            List<Seen> seen = ReplayAll(log);
            Assert.Equal([0, 100 * 1024, 0, 100 * 1024, 3], seen.Select(s => s.Payload.Length));
            Assert.Equal(big, seen[3].Payload);
        }
    }

    [Fact]
    public void A_wrong_id_or_kind_throws_CorruptFileException_naming_the_directory_and_address()
    {
        using var log = Open();
        long upsert = log.AppendUpsert(1, Vector(1, 4), Payload(1, 10));
        long delete = log.AppendDelete(2);
        long copy = log.AppendPayloadCopy(3, Payload(3, 10));
        log.Commit();

        var e = Assert.Throws<CorruptFileException>(() => log.ReadPayload(upsert, 99));
        Assert.Equal(log.Directory, e.FilePath);
        Assert.Contains($"address {upsert}", e.Message);
        Assert.Contains("id 99", e.Message);

        e = Assert.Throws<CorruptFileException>(() => log.ReadPayload(delete, 2));
        Assert.Contains($"address {delete}", e.Message);
        Assert.Contains("Delete", e.Message);

        // A PayloadCopy has a payload but no vector.
        Assert.Equal(Payload(3, 10), log.ReadPayload(copy, 3));
        e = Assert.Throws<CorruptFileException>(() => log.ReadVector(copy, 3, new float[4]));
        Assert.Contains($"address {copy}", e.Message);
        Assert.Throws<CorruptFileException>(() => log.ReadVector(upsert, 2, new float[4]));

        // A destination too short for the vector is the caller's mistake.
        Assert.Throws<ArgumentException>(() => log.ReadVector(upsert, 1, new float[3]));
    }

    [Fact]
    public void An_address_that_is_not_a_record_start_throws_CorruptFileException()
    {
        using var log = Open();
        long first = log.AppendUpsert(1, Vector(1, 64), Payload(1, 500));
        long second = log.AppendUpsert(2, Vector(2, 64), Payload(2, 500));
        log.Commit();
        long tail = log.TailAddress;

        long[] bad =
        [
            -1, 0, 1, first - 4, first + 1, first + 4, first + 8, first + 12, first + 16, first + 100, first + 300,
            second - 4, second + 4, tail, tail + 4, tail + 10_000, 1L << 40, long.MaxValue,
        ];
        foreach (long address in bad)
        {
            var e = Assert.Throws<CorruptFileException>(() => log.ReadPayload(address, 1));
            Assert.Equal(log.Directory, e.FilePath);
            Assert.Contains($"address {address}", e.Message);
        }
        // The log is still fine afterwards.
        Assert.Equal(Payload(2, 500), log.ReadPayload(second, 2));
    }

    [Fact]
    public void A_record_of_unknown_kind_or_version_is_reported_with_its_address_by_reads_and_Replay()
    {
                long good, unknownKind, unknownVersion;
        using (var log = Open())
        {
            good = log.AppendDelete(1);
            var raw = new byte[12];
            BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(4), 5);
            raw[0] = 9; raw[1] = 1;
            unknownKind = AppendRaw(log, raw);
            raw[0] = (byte)LogRecordKind.Delete; raw[1] = 2;
            unknownVersion = AppendRaw(log, raw);
            log.Commit();
        }
        using (var log = Open())
        {
            var e = Assert.Throws<CorruptFileException>(() => log.ReadPayload(unknownKind, 5));
            Assert.Contains($"address {unknownKind}", e.Message);
            Assert.Contains("unknown record kind 9", e.Message);

            e = Assert.Throws<CorruptFileException>(() => log.ReadPayload(unknownVersion, 5));
            Assert.Contains($"address {unknownVersion}", e.Message);
            Assert.Contains("version 2", e.Message);

            var seen = new List<long>();
            e = Assert.Throws<CorruptFileException>(() => log.Replay(0, (in LogRecordView r) => seen.Add(r.Address)));
            Assert.Equal([good], seen);
            Assert.Contains($"address {unknownKind}", e.Message);

            e = Assert.Throws<CorruptFileException>(() => log.Replay(unknownVersion, (in LogRecordView r) => seen.Add(r.Address)));
            Assert.Contains($"address {unknownVersion}", e.Message);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Records_committed_before_a_crash_or_a_Dispose_without_Commit_come_back(bool crash)
    {
        long committed, committedUntil;
        using (var log = Open())
        {
            committed = log.AppendUpsert(1, Vector(1, 8), Payload(1, 40));
            log.Commit();
            committedUntil = log.CommittedUntilAddress;
            // Appended but never committed: Dispose does not commit (FasterLog's own behaviour), so these are not
            // promised after reopening. They may or may not come back, depending on whether FASTER flushed their
            // page and recorded it in a commit; nothing here asserts either way (InMemoryPayloadLogTests does).
            for (int i = 2; i < 50; i++)
                log.AppendUpsert(i, Vector(i, 8), Payload(i, 40));
            if (crash)
                Crash(log);
        }
        using (var log = Open())
        {
            Assert.True(log.CommittedUntilAddress >= committedUntil);
            Assert.Equal(Payload(1, 40), log.ReadPayload(committed, 1));
            Assert.Equal(committed, ReplayAll(log)[0].Address);
        }
    }

    [Fact]
    public void TruncateUntil_moves_the_begin_address_durably_and_keeps_later_records()
    {
                var addresses = new long[20];
        using (var log = Open())
        {
            for (int i = 0; i < addresses.Length; i++)
                addresses[i] = log.AppendUpsert(i, Vector(i, 16), Payload(i, 64));
            log.Commit();

            Assert.Throws<ArgumentException>(() => log.TruncateUntil(addresses[10] + 4));
            Assert.Throws<ArgumentOutOfRangeException>(() => log.TruncateUntil(log.TailAddress + 64));
            Assert.Equal(addresses[0], log.BeginAddress);

            log.TruncateUntil(addresses[10]);
            Assert.Equal(addresses[10], log.BeginAddress);
            Assert.Throws<CorruptFileException>(() => log.ReadPayload(addresses[5], 5));
            // Records appended after a truncation work as usual; truncating to a lower address does nothing.
            log.AppendDelete(99);
            log.TruncateUntil(addresses[3]);
            Assert.Equal(addresses[10], log.BeginAddress);
        }
        using (var log = Open())
        {
            Assert.Equal(addresses[10], log.BeginAddress);
            var e = Assert.Throws<CorruptFileException>(() => log.ReadPayload(addresses[5], 5));
            Assert.Contains("truncated", e.Message);
            for (int i = 10; i < 20; i++)
                Assert.Equal(Payload(i, 64), log.ReadPayload(addresses[i], i));
            List<Seen> seen = ReplayAll(log);
            Assert.Equal(addresses[10..], seen.Take(10).Select(s => s.Address));
            Assert.Equal((LogRecordKind.Delete, 99L), (seen[10].Kind, seen[10].Id));

            // Truncating everything leaves an empty log that still appends.
            log.TruncateUntil(log.TailAddress);
            Assert.Empty(ReplayAll(log));
            long next = log.AppendDelete(100);
            log.Commit();
            Assert.Equal([next], ReplayAll(log).Select(s => s.Address));
        }
    }

    [Fact]
    public async Task Many_threads_read_while_another_appends_and_commits()
    {
        const int Records = 3000;
        const int Dimension = 16;
        using var log = Open();
        var addresses = new long[Records];
        int published = 0;
        bool done = false;

        var writer = Task.Run(() =>
        {
            for (int i = 0; i < Records; i++)
            {
                addresses[i] = log.AppendUpsert(i, Vector(i, Dimension), Payload(i, 20 + i % 300));
                Volatile.Write(ref published, i + 1);
                if (i % 100 == 99)
                    log.Commit();
            }
            log.Commit();
            Volatile.Write(ref done, true);
        });

        var readers = Enumerable.Range(0, 3).Select(r => Task.Run(() =>
        {
            var random = new Random(r);
            var vector = new float[Dimension];
            int reads = 0;
            while (!Volatile.Read(ref done) || reads < 200)
            {
                int count = Volatile.Read(ref published);
                if (count == 0)
                {
                    Thread.Yield();
                    continue;
                }
                // Mostly committed records, sometimes the newest (which may not be committed yet).
                int i = reads % 50 == 0 ? count - 1 : random.Next(count);
                Assert.Equal(Payload(i, 20 + i % 300), log.ReadPayload(addresses[i], i));
                Assert.Equal(Dimension, log.ReadVector(addresses[i], i, vector));
                Assert.Equal(Vector(i, Dimension), vector);
                reads++;
                if (reads >= 3000)
                    break;
            }
            return reads;
        })).ToArray();

        await writer;
        int[] counts = await Task.WhenAll(readers);
        _output.WriteLine($"reads per reader thread: {string.Join(", ", counts)}");
        Assert.All(counts, c => Assert.True(c >= 200));

        // And a Replay running alongside reads sees every record.
        int replayed = 0;
        log.Replay(0, (in LogRecordView r) =>
        {
            Assert.Equal(addresses[r.Id], r.Address);
            replayed++;
        });
        Assert.Equal(Records, replayed);
    }

    [Fact]
    public void A_record_larger_than_a_page_throws_ArgumentException_naming_the_limit()
    {
        using var log = Open();
        int max = LogRecordFormat.MaxRecordBytes;

        var e = Assert.Throws<ArgumentException>(() => log.AppendUpsert(1, Vector(1, 384), new byte[max]));
        Assert.Equal("payload", e.ParamName);
        Assert.Contains($"payload of {max} bytes is too large", e.Message);
        Assert.Contains($"at most {max} bytes", e.Message);

        e = Assert.Throws<ArgumentException>(() => log.AppendPayloadCopy(1, new byte[max]));
        Assert.Contains($"at most {max} bytes", e.Message);

        e = Assert.Throws<ArgumentException>(() => log.AppendUpsert(1, new float[max / 4], []));
        Assert.Equal("vector", e.ParamName);
        Assert.Contains("too large", e.Message);

        Assert.Equal(log.BeginAddress, log.TailAddress); // nothing was appended

        // The largest record that fits is accepted and reads back.
        byte[] largest = Payload(2, max - LogRecordFormat.PayloadCopyOverheadBytes);
        long at = log.AppendPayloadCopy(2, largest);
        log.Commit();
        Assert.Equal(largest, log.ReadPayload(at, 2));
    }

    [Fact]
    public void Replay_allocates_nothing_per_record()
    {
        using var log = Open();
        for (int i = 0; i < 5000; i++)
            log.AppendUpsert(i, Vector(i, 16), Payload(i, 50));
        log.Commit();

        long sum = 0;
        ReplayHandler handler = (in LogRecordView r) => sum += r.Payload.Length + r.Vector.Length;
        log.Replay(0, handler); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        log.Replay(0, handler);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        _output.WriteLine($"one Replay of 5,000 records allocated {allocated} bytes");
        Assert.True(allocated < 16 * 1024, $"{allocated} bytes allocated");
        Assert.Equal(2 * 5000 * (16 + 50), sum);
    }

    [Fact]
    public void A_failing_Replay_handler_leaves_the_log_usable_and_handlers_may_call_back_into_the_log()
    {
        using var log = Open();
        for (int i = 0; i < 5; i++)
            log.AppendUpsert(i, Vector(i, 4), Payload(i, 8));
        log.Commit();

        Assert.Throws<InvalidOperationException>(() => log.Replay(0, (in LogRecordView r) => throw new InvalidOperationException("handler failed")));

        // Reading, appending and committing from inside a handler (and after a failed Replay) all work.
        int seen = 0;
        log.Replay(0, (in LogRecordView r) =>
        {
            Assert.Equal(r.Payload.ToArray(), log.ReadPayload(r.Address, r.Id));
            if (r.Id == 0)
            {
                log.AppendDelete(100);
                log.Commit();
            }
            seen++;
        });
        Assert.Equal(5, seen);
        Assert.Equal(6, ReplayAll(log).Count);
    }

    [Fact]
    public async Task CommitAsync_makes_appended_records_durable()
    {
                long at;
        using (var log = Open())
        {
            at = log.AppendUpsert(1, Vector(1, 4), Payload(1, 4));
            await log.CommitAsync();
            Assert.Equal(log.TailAddress, log.CommittedUntilAddress);
        }
        using (var log = Open())
            Assert.Equal(Payload(1, 4), log.ReadPayload(at, 1));
    }

    [Fact]
    public void A_disposed_log_throws_ObjectDisposedException_and_Dispose_is_idempotent()
    {
        var log = Open();
        long at = log.AppendDelete(1);
        log.Commit();
        log.Dispose();
        log.Dispose();
        Assert.Throws<ObjectDisposedException>(() => log.AppendDelete(2));
        Assert.Throws<ObjectDisposedException>(() => log.ReadPayload(at, 1));
        Assert.Throws<ObjectDisposedException>(() => log.Replay(0, (in LogRecordView r) => { }));
        Assert.Throws<ObjectDisposedException>(() => log.Commit());
    }

    [Fact]
    public void A_read_only_instance_views_what_a_writer_on_the_same_directory_commits()
    {
                using var writer = Open();
        var addresses = new List<long>();
        for (int i = 0; i < 5; i++)
            addresses.Add(writer.AppendUpsert(i, Vector(i, 8), Payload(i, 30)));
        writer.Commit();

        using var reader = Open(readOnly: true);
        Assert.True(reader.IsReadOnly);
        Assert.Equal(writer.CommittedUntilAddress, reader.CommittedUntilAddress);
        Assert.Equal(Payload(3, 30), reader.ReadPayload(addresses[3], 3));
        var v = new float[8];
        Assert.Equal(8, reader.ReadVector(addresses[3], 3, v));
        Assert.Equal(Vector(3, 8), v);
        Assert.Equal(addresses, ReplayAll(reader).Select(s => s.Address));

        // Appended by the writer but not committed: not visible to the viewer.
        long uncommitted = writer.AppendUpsert(5, Vector(5, 8), Payload(5, 30));
        Assert.Throws<CorruptFileException>(() => reader.ReadPayload(uncommitted, 5));
        Assert.Equal(5, ReplayAll(reader).Count);

        // Once committed, a read past the view refreshes it, and Replay refreshes first.
        writer.Commit();
        addresses.Add(uncommitted);
        Assert.Equal(Payload(5, 30), reader.ReadPayload(uncommitted, 5));
        for (int i = 6; i < 10; i++)
            addresses.Add(writer.AppendUpsert(i, Vector(i, 8), Payload(i, 30)));
        writer.Commit();
        Assert.Equal(addresses, ReplayAll(reader).Select(s => s.Address));
        Assert.Equal(writer.CommittedUntilAddress, reader.CommittedUntilAddress);

        // The writer's truncation shows after a refresh.
        writer.TruncateUntil(addresses[4]);
        reader.Refresh();
        Assert.Equal(addresses[4], reader.BeginAddress);
        Assert.Throws<CorruptFileException>(() => reader.ReadPayload(addresses[2], 2));
        Assert.Equal(addresses[4..], ReplayAll(reader).Select(s => s.Address));

        // A viewer never writes.
        Assert.Throws<InvalidOperationException>(() => reader.AppendUpsert(1, [], []));
        Assert.Throws<InvalidOperationException>(() => reader.AppendDelete(1));
        Assert.Throws<InvalidOperationException>(() => reader.AppendPayloadCopy(1, []));
        Assert.Throws<InvalidOperationException>(() => reader.Commit());
        Assert.Throws<InvalidOperationException>(() => reader.TruncateUntil(addresses[5]));
    }
}

/// <summary>The <see cref="IPayloadLog"/> contract on the FASTER log in a temporary directory.</summary>
public sealed class FasterPayloadLogContractTests(ITestOutputHelper output) : PayloadLogTests(output)
{
    private protected override IPayloadLog Open(bool readOnly = false) => FasterPayloadLog.Open(LogName, readOnly);

    private protected override long AppendRaw(IPayloadLog log, byte[] record) => ((FasterPayloadLog)log).AppendRawForTesting(record);

    private protected override void Crash(IPayloadLog writer) => writer.Dispose();
}

/// <summary>The <see cref="IPayloadLog"/> contract on an <see cref="InMemoryPayloadLog"/>.</summary>
public sealed class InMemoryPayloadLogContractTests(ITestOutputHelper output) : PayloadLogTests(output)
{
    private readonly InMemoryPayloadLog _memory = new();

    private protected override IPayloadLog Open(bool readOnly = false) => _memory.Open(LogName, readOnly);

    private protected override long AppendRaw(IPayloadLog log, byte[] record) => InMemoryPayloadLog.AppendRawForTesting(log, record);

    private protected override void Crash(IPayloadLog writer) => _memory.SimulateCrash();
}
