using EmbeddedVectors.Storage;
using static EmbeddedVectors.Tests.Storage.LogTestData;

namespace EmbeddedVectors.Tests.Storage;

/// <summary>
/// Tests of <see cref="InMemoryPayloadLog"/> beyond the <see cref="PayloadLogTests"/> contract: what a simulated
/// crash drops and what it leaves, and that the log outlives its instances.
/// </summary>
public sealed class InMemoryPayloadLogTests
{
    private const string Name = "/virtual/store/log";

    [Fact]
    public void A_crash_drops_exactly_the_records_after_the_last_commit_and_kills_the_writer()
    {
        var memory = new InMemoryPayloadLog();
        var writer = memory.Open(Name, readOnly: false);
        long first = writer.AppendUpsert(1, Vector(1, 4), Payload(1, 10));
        long second = writer.AppendDelete(2);
        writer.Commit();
        long committedUntil = writer.CommittedUntilAddress;
        writer.AppendUpsert(3, Vector(3, 4), Payload(3, 10));
        writer.AppendPayloadCopy(4, Payload(4, 10));
        Assert.Equal(4, memory.Count);

        using var viewer = memory.Open(Name, readOnly: true);
        memory.SimulateCrash();
        Assert.Equal(2, memory.Count);
        Assert.Throws<InvalidOperationException>(() => writer.AppendDelete(5));
        Assert.Throws<InvalidOperationException>(() => writer.Commit());
        Assert.Throws<InvalidOperationException>(() => writer.ReadPayload(first, 1));
        writer.Dispose();

        // A viewer lives on (another process), and a new writer recovers to the last commit.
        Assert.Equal([first, second], ReplayAll(viewer).Select(s => s.Address));
        using var reopened = memory.Open(Name, readOnly: false);
        Assert.Equal(committedUntil, reopened.TailAddress);
        Assert.Equal([first, second], ReplayAll(reopened).Select(s => s.Address));
        long next = reopened.AppendDelete(6);
        Assert.Equal(committedUntil, next);   // the dropped records' addresses are issued again
    }

    [Fact]
    public void Reopening_a_writer_drops_what_the_last_one_did_not_commit_and_only_one_writer_is_open()
    {
        var memory = new InMemoryPayloadLog();
        long kept;
        using (var writer = memory.Open(Name, readOnly: false))
        {
            kept = writer.AppendUpsert(1, Vector(1, 4), Payload(1, 10));
            writer.Commit();
            writer.AppendDelete(1);
            Assert.Throws<InvalidOperationException>(() => memory.Open(Name, readOnly: false));
        }
        using var again = memory.Open(Name, readOnly: false);
        Assert.Equal(Path.GetFullPath(Name), again.Directory);
        Assert.Equal([kept], ReplayAll(again).Select(s => s.Address));
        Assert.Equal(Payload(1, 10), again.ReadPayload(kept, 1));
        Assert.True(kept >= InMemoryPayloadLog.FirstAddress && InMemoryPayloadLog.FirstAddress > 0);
    }
}
