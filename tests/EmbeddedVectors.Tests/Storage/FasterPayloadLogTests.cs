using System.Diagnostics;
using EmbeddedVectors.Storage;
using Xunit.Abstractions;
using static EmbeddedVectors.Tests.Storage.LogTestData;

namespace EmbeddedVectors.Tests.Storage;

/// <summary>
/// Tests of <see cref="FasterPayloadLog"/> beyond the <see cref="PayloadLogTests"/> contract: its files (segments,
/// damaged bytes, read-only opens that change nothing), its record limit and its throughput.
/// </summary>
public sealed class FasterPayloadLogTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ev-log-" + Guid.NewGuid().ToString("N"));
    private readonly ITestOutputHelper _output;

    public FasterPayloadLogTests(ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        try
        {
            if (Directory.Exists(_root))
                Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A file still open by a failed test must not hide that test's own failure.
        }
    }

    /// <summary>The log directory inside the temp root; like the store, a subdirectory that does not exist yet.</summary>
    private string LogDir(string name = "log") => Path.Combine(_root, name);

    [Fact]
    public void A_commit_record_read_while_listing_is_served_even_after_the_writer_deleted_its_file()
    {
        string dir = LogDir();
        using var log = FasterPayloadLog.Open(dir);
        for (int i = 0; i < 3; i++)
        {
            log.AppendUpsert(i, [1, 2, 3, 4], "x"u8);
            log.Commit();
        }
        using var reader = new FasterCommitFiles(dir, writer: false, FasterPayloadLog.SegmentSizeBits);
        long newest = reader.ListCommits().First();
        string file = Directory.GetFiles(Path.Combine(dir, "log-commits"), $"commit.{newest}.*").Single();
        byte[] record = File.ReadAllBytes(file)[4..];
        File.Delete(file); // what a writer committing again does to the file a reader just listed
        byte[] served = reader.GetCommitMetadata(newest);
        Assert.Equal(record[..served.Length], served);
        Assert.Contains(served, b => b != 0);
    }

    [Fact]
    public void Open_creates_the_directory_and_the_record_limit_is_the_page_less_the_entry_header()
    {
        string dir = LogDir();
        using var log = FasterPayloadLog.Open(dir);
        Assert.True(Directory.Exists(dir));
        Assert.Equal(dir, log.Directory);
        Assert.Equal(FasterPayloadLog.MaxRecordBytes, LogRecordFormat.MaxRecordBytes);
        Assert.Equal((1 << FasterPayloadLog.PageSizeBits) - FasterEntryHeader.Bytes, LogRecordFormat.MaxRecordBytes);
        Assert.Equal(64, log.BeginAddress); // FasterLog's first address: the store's 0 ("none") is never a record
    }

    [Fact]
    public void A_damaged_record_is_reported_by_reads_and_Replay()
    {
        string dir = LogDir();
        var addresses = new long[3000];
        using (var log = FasterPayloadLog.Open(dir))
        {
            // About 5 MiB: the damaged record is in the first 4 MiB page, which is read back from disk (FASTER
            // loads only the last page into memory on recovery, and verifies checksums of what it reads from disk).
            for (int i = 0; i < addresses.Length; i++)
                addresses[i] = log.AppendUpsert(i, Vector(i, 384), Payload(i, 200));
            log.Commit();
            Assert.True(log.TailAddress > 1 << FasterPayloadLog.PageSizeBits);
        }

        long damaged = addresses[10];
        string segment = Path.Combine(dir, FasterPayloadLog.LogFileName + ".0");
        using (var file = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite))
        {
            long at = damaged + 12 + LogRecordFormat.UpsertOverheadBytes + 384 * 4 + 7; // a payload byte
            file.Position = at;
            int b = file.ReadByte();
            file.Position = at;
            file.WriteByte((byte)(b ^ 0x10));
        }

        using (var log = FasterPayloadLog.Open(dir))
        {
            var e = Assert.Throws<CorruptFileException>(() => log.ReadPayload(damaged, 10));
            Assert.Equal(log.Directory, e.FilePath);
            Assert.Contains($"address {damaged}", e.Message);
            Assert.Contains("checksum", e.Message);
            Assert.Equal(Payload(11, 200), log.ReadPayload(addresses[11], 11));

            int replayed = 0;
            e = Assert.Throws<CorruptFileException>(() => log.Replay(0, (in LogRecordView r) => replayed++));
            Assert.Equal(10, replayed);
            Assert.Contains($"address {damaged}", e.Message);
            Assert.Equal(addresses.Length - 11, ReplayAll(log, addresses[11]).Count);
        }
    }

    [Fact]
    public void Records_spread_over_several_segment_files_read_back_and_truncation_deletes_whole_segments()
    {
        const int SegmentBits = FasterPayloadLog.PageSizeBits; // 4 MiB segments, one page each
        string dir = LogDir();
        var addresses = new long[12_000]; // about 9.5 MB: three segments
        using var log = FasterPayloadLog.Open(dir, readOnly: false, SegmentBits);
        for (int i = 0; i < addresses.Length; i++)
            addresses[i] = log.AppendUpsert(i, Vector(i, 64), Payload(i, 500));
        log.Commit();
        Assert.Equal(2, addresses[^1] >> SegmentBits);
        string SegmentFile(int n) => Path.Combine(dir, FasterPayloadLog.LogFileName + "." + n);
        Assert.True(File.Exists(SegmentFile(2)));

        // The last record of each page and the first of the next, and a sample of the rest.
        var check = new SortedSet<int>(Enumerable.Range(0, addresses.Length).Where(i => i % 97 == 0)) { 0, addresses.Length - 1 };
        for (int i = 1; i < addresses.Length; i++)
        {
            if (addresses[i] >> SegmentBits != addresses[i - 1] >> SegmentBits)
            {
                check.Add(i - 1);
                check.Add(i);
            }
        }
        var vector = new float[64];
        foreach (int i in check)
        {
            Assert.Equal(Payload(i, 500), log.ReadPayload(addresses[i], i));
            Assert.Equal(64, log.ReadVector(addresses[i], i, vector));
            Assert.Equal(Vector(i, 64), vector);
        }
        Assert.Equal(addresses.Length, ReplayAll(log).Count);

        using var viewer = FasterPayloadLog.Open(dir, readOnly: true, SegmentBits);
        Assert.Equal(Payload(5, 500), viewer.ReadPayload(addresses[5], 5)); // holds segment 0 open

        int firstOfSegment2 = Array.FindIndex(addresses, a => a >> SegmentBits == 2);
        log.TruncateUntil(addresses[firstOfSegment2]);
        // FASTER deletes the segment files before the new begin address shortly after the commit.
        var clock = Stopwatch.StartNew();
        while ((File.Exists(SegmentFile(0)) || File.Exists(SegmentFile(1))) && clock.Elapsed < TimeSpan.FromSeconds(10))
            Thread.Sleep(20);
        Assert.False(File.Exists(SegmentFile(0)));
        Assert.False(File.Exists(SegmentFile(1)));
        Assert.True(File.Exists(SegmentFile(2)));

        Assert.Throws<CorruptFileException>(() => log.ReadPayload(addresses[5], 5));
        Assert.Equal(Payload(firstOfSegment2, 500), log.ReadPayload(addresses[firstOfSegment2], firstOfSegment2));

        viewer.Refresh();
        Assert.Equal(addresses[firstOfSegment2], viewer.BeginAddress);
        Assert.Throws<CorruptFileException>(() => viewer.ReadPayload(addresses[5], 5));
        Assert.Equal(addresses.Length - firstOfSegment2, ReplayAll(viewer).Count);
        Assert.False(File.Exists(SegmentFile(0)));   // the viewer recreated nothing

        log.Dispose();
        using var reopened = FasterPayloadLog.Open(dir, readOnly: false, SegmentBits);
        Assert.Equal(addresses[firstOfSegment2], reopened.BeginAddress);
        Assert.Equal(Payload(addresses.Length - 1, 500), reopened.ReadPayload(addresses[^1], addresses.Length - 1));
    }

    [Fact]
    public void A_read_only_instance_changes_no_file()
    {
        string dir = LogDir();
        using (var writer = FasterPayloadLog.Open(dir))
        {
            for (int i = 0; i < 100; i++)
                writer.AppendUpsert(i, Vector(i, 8), Payload(i, 100));
            writer.Commit();
            writer.AppendDelete(3);
            writer.Commit();
        }
        Dictionary<string, (long, DateTime)> before = Snapshot(dir);

        using (var reader = FasterPayloadLog.Open(dir, readOnly: true))
        {
            List<Seen> seen = ReplayAll(reader);
            Assert.Equal(101, seen.Count);
            Assert.Equal(seen[7].Payload, reader.ReadPayload(seen[7].Address, 7));
            reader.Refresh();
            Assert.Throws<CorruptFileException>(() => reader.ReadPayload(reader.TailAddress + (1L << 30), 1)); // a segment that does not exist
        }
        Assert.Equal(before, Snapshot(dir));

        string missing = LogDir("missing");
        Assert.Throws<DirectoryNotFoundException>(() => FasterPayloadLog.Open(missing, readOnly: true));
        Assert.False(Directory.Exists(missing));

        static Dictionary<string, (long, DateTime)> Snapshot(string dir) =>
            Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
                .ToDictionary(f => f, f => (new FileInfo(f).Length, File.GetLastWriteTimeUtc(f)));
    }

    /// <summary>
    /// Measures (does not assert) append + commit throughput: 100,000 upserts of 384-d vectors with 200-byte
    /// payloads, committing every 1,000 and every 100,000 records. Run with
    /// <c>--logger "console;verbosity=detailed"</c> to see the figures.
    /// </summary>
    [Fact]
    public void Measure_append_and_commit_throughput()
    {
        const int Count = 100_000;
        const int Dimension = 384;
        var vector = Vector(1, Dimension);
        var payload = Payload(1, 200);
        foreach (int commitEvery in new[] { 1_000, 100_000 })
        {
            string dir = LogDir($"perf-{commitEvery}");
            using var log = FasterPayloadLog.Open(dir);
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < Count; i++)
            {
                vector[0] = i;
                log.AppendUpsert(i, vector, payload);
                if ((i + 1) % commitEvery == 0)
                    log.Commit();
            }
            log.Commit();
            clock.Stop();
            long bytes = log.TailAddress - log.BeginAddress;

            var replayClock = Stopwatch.StartNew();
            int replayed = 0;
            log.Replay(0, (in LogRecordView r) => replayed++);
            replayClock.Stop();
            Assert.Equal(Count, replayed);

            _output.WriteLine(
                $"commit every {commitEvery,7:N0}: {Count:N0} upserts in {clock.Elapsed.TotalMilliseconds:F0} ms = " +
                $"{Count / clock.Elapsed.TotalSeconds:N0} records/s, {bytes / clock.Elapsed.TotalSeconds / (1 << 20):F0} MiB/s " +
                $"({bytes / Count} log bytes per record); replay of all {replayed:N0}: {replayClock.Elapsed.TotalMilliseconds:F0} ms");
        }
    }
}
