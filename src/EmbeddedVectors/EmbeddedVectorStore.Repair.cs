using EmbeddedVectors.Storage;

namespace EmbeddedVectors;

public sealed partial class EmbeddedVectorStore
{
    /// <summary>
    /// Repairs a store whose sealed segments are damaged or missing, so that it opens again. Every segment named by
    /// the manifest is checked (headers, every region checksum, payload file, fields file, deletion file); a
    /// damaged one is taken out of the manifest and its files are moved to <c>damaged-N/</c> in the store. Each of
    /// its live entries is then added back from the first source that still holds it: the write-ahead log (the
    /// id's latest record, while the log still holds it: records are dropped by compaction and, a log file at a
    /// time, after seals), else the segment's own intact parts (the rows, the payload record, the fields, when the
    /// ids and the deletion file read back). Entries found in neither are reported in
    /// <see cref="StoreRepairReport.LostIds"/>; entries replaced or deleted since are not lost. A store with no
    /// damage is left untouched.
    /// </summary>
    /// <param name="path">The store's directory. No other process may have it open for writing.</param>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="CorruptFileException">The manifest or the quantizer files are damaged: repair rebuilds segments only.</exception>
    /// <exception cref="EmbeddedVectorsException">Another process has the store open for writing.</exception>
    public static StoreRepairReport Repair(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string directory = Path.GetFullPath(path);
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"No store at {directory}: the directory does not exist.");
        if (!Manifest.Exists(directory))
            throw new CorruptFileException(Path.Combine(directory, Manifest.FileName), "missing: this directory is not an EmbeddedVectors store.");
        var problems = new List<string>();
        var damaged = new List<DamagedSegment>();
        string? setAside = null;
        Dictionary<long, RecoveredEntry?> inLog;
        Manifest manifest;
        using (AcquireWriteLock(directory))
        {
            manifest = Manifest.Read(directory);
            foreach (var entry in manifest.Segments)
                if (InspectSegment(directory, manifest, entry, problems) is { } found) damaged.Add(found);
            if (damaged.Count == 0) return new StoreRepairReport { Problems = problems, RemovedSegments = [], LostIds = [] };
            bool allIds = damaged.Exists(segment => segment.Ids == null);
            var wanted = new HashSet<long>();
            foreach (var segment in damaged)
                if (segment.Ids != null) wanted.UnionWith(segment.Ids);
            inLog = LatestLogRecords(directory, manifest, allIds ? null : wanted);
            setAside = SetAside(directory, damaged);
            var removed = damaged.Select(segment => segment.Number).ToHashSet();
            (manifest with
            {
                Segments = [.. manifest.Segments.Where(segment => !removed.Contains(segment.Number))],
                Generation = manifest.Generation + 1,
            }).Write(directory);
        }
        return AddBack(directory, damaged, inLog, problems, setAside);
    }

    /// <summary>
    /// A segment taken out: its live entries (all of them when the deletion file is unreadable), their ids (null when
    /// unreadable) and what its own parts still hold of each.
    /// </summary>
    private sealed record DamagedSegment(long Number, long Live, List<long>? Ids, Dictionary<long, RecoveredEntry> OwnParts);

    /// <summary>An entry as repair re-adds it: the vector as stored, the payload, the field values in stored form.</summary>
    private sealed record RecoveredEntry(float[] Vector, byte[] Payload, object?[]? Fields);

    /// <summary>Null when the segment is sound; else what can be read of it. Problems found are added to <paramref name="problems"/>.</summary>
    private static DamagedSegment? InspectSegment(string directory, Manifest manifest, SegmentEntry entry, List<string> problems)
    {
        int before = problems.Count;
        Segment? segment = null;
        SegmentPayloads.Reader? payloads = null;
        try
        {
            try { segment = Segment.Open(directory, entry.Number, manifest.Shape); }
            catch (Exception e) when (e is CorruptFileException or IOException) { problems.Add(e.Message); }
            bool idsIntact = false, rowsIntact = false;
            if (segment != null)
            {
                problems.AddRange(segment.FindDamage(out idsIntact, out rowsIntact));
                if (segment.Count != entry.Count)
                {
                    problems.Add($"{Path.Combine(directory, SegmentWriter.CodesFileName(entry.Number))}: holds {segment.Count} entries but the manifest says {entry.Count}.");
                    idsIntact = false;
                }
            }
            if (entry.Payloads)
            {
                try
                {
                    payloads = SegmentPayloads.Reader.Open(directory, entry.Number, entry.Count);
                    payloads.Verify();
                }
                catch (Exception e) when (e is CorruptFileException or IOException) { problems.Add(e.Message); }
            }
            DeletionBitmap? deleted = null;
            try { deleted = entry.DeletionsVersion == 0 ? new DeletionBitmap(entry.Count) : DeletionBitmap.Load(directory, entry.Number, entry.DeletionsVersion, entry.Count); }
            catch (Exception e) when (e is CorruptFileException or IOException) { problems.Add(e.Message); }
            FieldColumns? fields = null;
            try { fields = entry.Fields ? FieldsFile.Read(directory, entry.Number, entry.Count, manifest.Fields) : null; }
            catch (Exception e) when (e is CorruptFileException or IOException) { problems.Add(e.Message); }
            if (problems.Count == before) return null;

            long live = entry.Count - (deleted?.DeletedCount ?? 0);
            if (segment == null || !idsIntact) return new DamagedSegment(entry.Number, live, null, []);
            var ids = new List<long>();
            var own = new Dictionary<long, RecoveredEntry>();
            // Without the deletion file a deleted entry cannot be told from a live one: only the log may speak for them.
            bool ownPartsUsable = deleted != null && rowsIntact && payloads != null && (fields != null || !entry.Fields);
            for (long position = 0; position < segment.Count; position++)
            {
                if (deleted != null && deleted.IsDeleted(position)) continue;
                long id = segment.IdAt(position);
                ids.Add(id);
                if (!ownPartsUsable) continue;
                byte[] payload;
                try { payload = payloads!.Read(segment.PayloadAddressAt(position), id); }
                catch (CorruptFileException) { continue; }
                var vector = new float[manifest.Dimension];
                segment.Rows!.Decode(segment.RowAt(position), vector);
                own[id] = new RecoveredEntry(vector, payload, fields?.Row((int)position, manifest.Fields.Count));
            }
            return new DamagedSegment(entry.Number, live, ids, own);
        }
        finally
        {
            payloads?.Dispose();
            segment?.Dispose();
        }
    }

    /// <summary>The latest record the log still holds of each id in <paramref name="wanted"/> (every id when null): the entry, or null for a delete.</summary>
    private static Dictionary<long, RecoveredEntry?> LatestLogRecords(string directory, Manifest manifest, HashSet<long>? wanted)
    {
        var latest = new Dictionary<long, RecoveredEntry?>();
        using var log = FasterPayloadLog.Open(Path.Combine(directory, LogDirectoryName), readOnly: true, manifest.EffectiveLogSegmentBits);
        long lastUpsert = long.MinValue;
        log.Replay(log.BeginAddress, (in LogRecordView record) =>
        {
            bool isWanted = wanted == null || wanted.Contains(record.Id);
            switch (record.Kind)
            {
                case LogRecordKind.Upsert when isWanted:
                    latest[record.Id] = new RecoveredEntry(record.Vector.ToArray(), record.Payload.ToArray(), null);
                    lastUpsert = record.Id;
                    return;
                case LogRecordKind.Fields when isWanted && lastUpsert == record.Id && latest[record.Id] is { } upsert:
                    latest[record.Id] = upsert with { Fields = FieldRow.Decode(manifest.Fields, record.Payload) };
                    break;
                case LogRecordKind.Delete when isWanted:
                    latest[record.Id] = null;
                    break;
            }
            lastUpsert = long.MinValue;
        });
        return latest;
    }

    /// <summary>Moves every file of the damaged segments to a new <c>damaged-N</c> directory; returns it.</summary>
    private static string SetAside(string directory, List<DamagedSegment> damaged)
    {
        int n = 1;
        while (Directory.Exists(Path.Combine(directory, $"damaged-{n}"))) n++;
        string target = Path.Combine(directory, $"damaged-{n}");
        Directory.CreateDirectory(target);
        foreach (var segment in damaged)
            foreach (string file in Directory.EnumerateFiles(directory, $"seg-{segment.Number:D6}.*"))
                File.Move(file, Path.Combine(target, Path.GetFileName(file)));
        return target;
    }

    /// <summary>Opens the store without the removed segments and adds back what can be recovered, newest source first.</summary>
    private static StoreRepairReport AddBack(string directory, List<DamagedSegment> damaged, Dictionary<long, RecoveredEntry?> inLog, List<string> problems, string setAside)
    {
        var lost = new List<long>();
        var ids = new List<long>();
        var entries = new List<RecoveredEntry>();
        long fromLog = 0, fromSegments = 0, unidentified = 0;
        using var store = Open(directory);
        var seen = new HashSet<long>();
        foreach (var segment in damaged)
        {
            if (segment.Ids == null) continue;
            foreach (long id in segment.Ids)
            {
                // Live elsewhere: replaced by a newer version (the damaged copy was already dead); or done already.
                if (!seen.Add(id) || store.Contains(id)) continue;
                if (inLog.TryGetValue(id, out var logged))
                {
                    if (logged == null) continue; // deleted, as the log says
                    ids.Add(id);
                    entries.Add(logged);
                    fromLog++;
                }
                else if (segment.OwnParts.TryGetValue(id, out var own))
                {
                    ids.Add(id);
                    entries.Add(own);
                    fromSegments++;
                }
                else lost.Add(id);
            }
        }
        if (damaged.Exists(segment => segment.Ids == null))
        {
            // Ids unreadable: an id not live now whose latest log record is an upsert lived in a removed segment.
            long unreadable = damaged.Where(segment => segment.Ids == null).Sum(segment => segment.Live);
            long recovered = 0;
            foreach (var (id, logged) in inLog)
            {
                if (logged == null || seen.Contains(id) || store.Contains(id)) continue;
                seen.Add(id);
                ids.Add(id);
                entries.Add(logged);
                recovered++;
            }
            fromLog += recovered;
            unidentified = Math.Max(0, unreadable - recovered);
        }
        if (entries.Count == 0) return Report();
        var vectors = new float[entries.Count * store.Dimension];
        for (int i = 0; i < entries.Count; i++) entries[i].Vector.CopyTo(vectors, i * store.Dimension);
        store.AddRows([.. ids], vectors, [.. entries.Select(entry => entry.Payload)], [.. entries.Select(entry => entry.Fields)]);
        store.Flush();
        return Report();

        StoreRepairReport Report() => new()
        {
            Problems = problems,
            RemovedSegments = [.. damaged.Select(segment => segment.Number)],
            RecoveredFromLog = fromLog,
            RecoveredFromSegments = fromSegments,
            LostIds = [.. lost.Order()],
            UnidentifiedLost = unidentified,
            SetAsideDirectory = setAside,
        };
    }
}
