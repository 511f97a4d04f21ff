using EmbeddedVectors.Storage;

namespace EmbeddedVectors;

public sealed partial class EmbeddedVectorStore
{
    /// <summary>The entry <paramref name="id"/> with its vector and payload, or null when there is none.</summary>
    public StoredEntry? Get(long id)
    {
        float[] vector;
        long address;
        var snapshot = AcquireSnapshot();
        try
        {
            _state.EnterReadLock();
            try
            {
                if (!TryLocateLocked(id, out var source, out long position, out int list)) return null;
                if (source < 0)
                {
                    var entries = _buffer.Lists[list];
                    vector = entries.Row((int)position).ToArray();
                    address = entries.PayloadAddresses[(int)position];
                }
                else
                {
                    var segment = _segments[source].Segment;
                    address = segment.PayloadAddressAt(position);
                    vector = segment.Shape.HasVectors ? segment.VectorAt(position).ToArray() : ReadVectorFromLog(address, id);
                }
            }
            finally { _state.ExitReadLock(); }
            // The snapshot taken first pins the log: compaction truncates what it moved only once no older snapshot
            // is in use, so the address stays readable without holding the lock.
            return new StoredEntry(id, vector, _log.ReadPayload(address, id));
        }
        finally { snapshot.Release(); }
    }

    /// <summary>True when a live entry has this id.</summary>
    public bool Contains(long id)
    {
        ThrowIfDisposed();
        _state.EnterReadLock();
        try { return TryLocateLocked(id, out _, out _, out _); }
        finally { _state.ExitReadLock(); }
    }

    /// <summary>
    /// Rewrites every segment into one without deleted or replaced entries, moves the live payloads to the log's
    /// tail and drops the log before them. Searches go on meanwhile against the old segments; writes wait.
    /// </summary>
    public void Compact()
    {
        ThrowIfReadOnly();
        lock (_writer)
        {
            ThrowIfDisposed();
            SealLocked();
            if (_quantizer == null || _segments.Count == 0) return;
            long live = 0;
            foreach (var segment in _segments) live += segment.Segment.Count - segment.Deleted.DeletedCount;
            long number = _manifest.NextSegmentNumber;
            long firstCopy = _log.TailAddress;
            SealedSegment? merged = null;
            if (live > 0)
            {
                using var writer = SegmentWriter.Create(StorePath, number, _manifest.Shape, live);
                var code = new byte[_manifest.Shape.CodeSize];
                for (int list = 0; list < _manifest.NList; list++)
                {
                    foreach (var source in _segments)
                    {
                        var segment = source.Segment;
                        long start = segment.ListStart(list);
                        var ids = segment.Ids(list);
                        var addresses = segment.PayloadAddresses(list);
                        for (int i = 0; i < ids.Length; i++)
                        {
                            if (source.Deleted.IsDeleted(start + i)) continue;
                            byte[] payload = _log.ReadPayload(addresses[i], ids[i]);
                            long address = _log.AppendPayloadCopy(ids[i], payload);
                            var vector = segment.Shape.HasVectors ? segment.VectorAt(start + i) : ReadOnlySpan<float>.Empty;
                            segment.CodeAt(list, i, code);
                            writer.Append(list, code, ids[i], address, vector);
                        }
                    }
                }
                _log.Commit();
                writer.Complete();
                merged = SealedSegment.Open(StorePath, new SegmentEntry(number, live, 0), _manifest.Shape);
            }
            else
            {
                _log.Commit();
            }
            var manifest = _manifest with
            {
                Segments = merged == null ? [] : [merged.ToEntry()],
                NextSegmentNumber = number + 1,
                SealedUntilAddress = _log.CommittedUntilAddress,
                Generation = _manifest.Generation + 1,
            };
            manifest.Write(StorePath);
            var old = _segments;
            SwapStateLocked(manifest, _quantizer, merged == null ? [] : [merged], _buffer, _bufferIds);
            foreach (var segment in old)
            {
                // The files go when the last search that may scan them ends.
                segment.MarkObsolete();
                segment.Release();
            }
            // Every live payload now lies at or after firstCopy; what is before it is dead.
            TruncateLogWhenUnpinnedLocked(live > 0 ? firstCopy : _log.CommittedUntilAddress);
        }
    }

    /// <summary>Counts, sizes and parameters of the store.</summary>
    public StoreInfo GetInfo()
    {
        ThrowIfDisposed();
        _state.EnterReadLock();
        try
        {
            long sealedEntries = 0, deleted = _buffer.DeletedCount;
            foreach (var segment in _segments)
            {
                sealedEntries += segment.Segment.Count;
                deleted += segment.Deleted.DeletedCount;
            }
            return new StoreInfo
            {
                Count = sealedEntries + _buffer.Count - deleted,
                Dimension = Dimension,
                Metric = Metric,
                NList = _manifest.NList,
                M = _manifest.M,
                Trained = IsTrained,
                Segments = _segments.Count,
                SealedEntries = sealedEntries,
                DeletedEntries = deleted,
                BufferedEntries = _buffer.Count,
                BytesOnDisk = DirectorySize(StorePath),
                StoreVectors = _manifest.StoreVectors,
                Codes = FastScanCodes ? "pq4fs" : "pq8",
                TrainingThreshold = _manifest.TrainingThreshold,
                Opq = _manifest.Opq,
                SealThreshold = SealThreshold,
            };
        }
        finally { _state.ExitReadLock(); }
    }

    /// <summary>
    /// Checks every checksum of the store in <paramref name="path"/>: manifest, quantizers, every segment region,
    /// deletion files and every log record. Returns the problems found (empty when the store is sound).
    /// </summary>
    public static IReadOnlyList<string> Verify(string path)
    {
        var problems = new List<string>();
        EmbeddedVectorStore store;
        try
        {
            // A stored coarse graph is read and checked; none is built just to verify.
            store = Open(path, new EmbeddedVectorStoreOptions { ReadOnly = true, CoarseGraphMinNList = int.MaxValue });
        }
        catch (Exception e) when (e is EmbeddedVectorsException or IOException)
        {
            problems.Add(e.Message);
            return problems;
        }
        using (store)
        {
            foreach (var segment in store._segments)
            {
                try { segment.Segment.Verify(); }
                catch (CorruptFileException e) { problems.Add(e.Message); }
            }
            try { store._log.Replay(store._log.BeginAddress, static (in LogRecordView _) => { }); }
            catch (CorruptFileException e) { problems.Add(e.Message); }
        }
        return problems;
    }

    /// <summary>Seals the write buffer into a new segment and persists deletions; the writer lock is held.</summary>
    private void SealLocked()
    {
        if (_quantizer == null) return; // untrained entries live in the log until training
        bool dirty = false;
        foreach (var segment in _segments) dirty |= segment.Dirty;
        long live = _buffer.Count - _buffer.DeletedCount;
        if (_buffer.Count == 0 && !dirty) return;

        // Payload addresses in the new segment point into the log: make them durable before anything refers to them.
        _log.Commit();
        long sealedUntil = _log.CommittedUntilAddress;
        long number = _manifest.NextSegmentNumber;
        SealedSegment? sealedBuffer = null;
        if (live > 0)
        {
            using (var writer = SegmentWriter.Create(StorePath, number, _manifest.Shape, live))
            {
                var code = new byte[_manifest.Shape.CodeSize];
                for (int list = 0; list < _buffer.Lists.Length; list++)
                {
                    var entries = _buffer.Lists[list];
                    for (int i = 0; i < entries.Count; i++)
                    {
                        if (entries.IsDeleted(i)) continue;
                        var vector = entries.HasRows ? entries.Row(i) : ReadOnlySpan<float>.Empty;
                        entries.CodeAt(i, code);
                        writer.Append(list, code, entries.Ids[i], entries.PayloadAddresses[i], vector);
                    }
                }
                writer.Complete();
            }
            sealedBuffer = SealedSegment.Open(StorePath, new SegmentEntry(number, live, 0), _manifest.Shape);
            number++;
        }
        var staleDeletions = new List<(long Segment, long Version)>();
        foreach (var segment in _segments)
        {
            if (!segment.Dirty) continue;
            long replaced = segment.WriteDeletions();
            if (replaced > 0) staleDeletions.Add((segment.Segment.Number, replaced));
        }
        var segments = new List<SealedSegment>(_segments);
        if (sealedBuffer != null) segments.Add(sealedBuffer);
        var entriesList = new List<SegmentEntry>();
        foreach (var segment in segments) entriesList.Add(segment.ToEntry());
        var manifest = _manifest with
        {
            Segments = entriesList,
            NextSegmentNumber = number,
            SealedUntilAddress = sealedUntil,
            Generation = _manifest.Generation + 1,
        };
        manifest.Write(StorePath);
        SwapStateLocked(manifest, _quantizer, segments, NewBuffer(_quantizer), []);
        foreach (var (segment, version) in staleDeletions) StoreFiles.TryDelete(Path.Combine(StorePath, DeletionBitmap.FileName(segment, version)));
    }

    private bool TryLocateLocked(long id, out int source, out long position, out int list)
    {
        if (_bufferIds.TryGetValue(id, out var location))
        {
            (source, position, list) = (-1, location.Position, location.List);
            return true;
        }
        for (int s = _segments.Count - 1; s >= 0; s--)
        {
            long found = _segments[s].Segment.Find(id);
            if (found >= 0 && !_segments[s].Deleted.IsDeleted(found))
            {
                (source, position, list) = (s, found, -1);
                return true;
            }
        }
        (source, position, list) = (-1, -1, -1);
        return false;
    }

    private float[] ReadVectorFromLog(long address, long id)
    {
        var vector = new float[Dimension];
        _log.ReadVector(address, id, vector);
        return vector;
    }

    private static long DirectorySize(string directory)
    {
        long total = 0;
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories)) total += file.Length;
        return total;
    }
}
