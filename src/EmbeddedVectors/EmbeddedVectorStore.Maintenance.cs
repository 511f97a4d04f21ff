using EmbeddedVectors.Storage;

namespace EmbeddedVectors;

public sealed partial class EmbeddedVectorStore
{
    /// <summary>The entry <paramref name="id"/> with its vector and payload, or null when there is none.</summary>
    public StoredEntry? Get(long id)
    {
        float[] vector;
        long address;
        SealedSegment? owner = null;
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
                    owner = _segments[source];
                    var segment = owner.Segment;
                    address = segment.PayloadAddressAt(position);
                    vector = segment.Shape.HasVectors ? segment.VectorAt(position).ToArray()
                        : owner.Payloads == null ? ReadVectorFromLog(address, id) : Reconstruct(segment, position);
                }
            }
            finally { _state.ExitReadLock(); }
            // The snapshot taken first pins the segments and the log: they are unmapped, deleted or truncated only once
            // no older snapshot is in use, so the address stays readable without holding the lock.
            return new StoredEntry(id, vector, owner == null ? _log.ReadPayload(address, id) : ReadPayload(owner, address, id));
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
            try { CompactLocked(); }
            catch (Exception e) when (WriteFailures.IsWriteFailure(e)) { throw RecoverFromWriteFailureLocked(e, "compaction"); }
        }
    }

    private void CompactLocked()
    {
        SealLocked();
        if (_quantizer == null || _segments.Count == 0) return;
        _options.CompactionHook?.Invoke();
        long live = 0;
        foreach (var segment in _segments) live += segment.Segment.Count - segment.Deleted.DeletedCount;
        long number = _manifest.NextSegmentNumber;
        SealedSegment? merged = null;
        var sources = _segments.Select(segment => segment.View()).ToList();
        try
        {
            if (live > 0) merged = WriteSegment(number, sources, live, CancellationToken.None);
        }
        finally
        {
            foreach (var source in sources) source.Owner.Release();
        }
        var manifest = _manifest with
        {
            Segments = merged == null ? [] : [merged.ToEntry()],
            NextSegmentNumber = number + 1,
            Generation = _manifest.Generation + 1,
        };
        WriteManifestOrDiscard(() => _log.Commit(), ref manifest, merged);
        var old = _segments;
        SwapStateLocked(manifest, _quantizer, merged == null ? [] : [merged], _buffer, _bufferIds);
        foreach (var segment in old)
        {
            // The files go when the last search that may scan them ends.
            segment.MarkObsolete();
            segment.Release();
        }
        // Every live payload is now in the new segment's payload file: the whole log up to here is dead.
        TruncateLogWhenUnpinnedLocked(_log.CommittedUntilAddress);
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
            var balance = ListBalanceLocked();
            double? recent = _drift.Recent;
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
                BytesPerEntry = MeasureBytesPerEntry(sealedEntries + _buffer.Count - deleted),
                LargestList = balance.Largest,
                MeanList = balance.Mean,
                EmptyLists = balance.Empty,
                TrainingError = _manifest.TrainingCoarseError,
                RecentError = recent,
                RetrainAdvised = (recent is double r && _manifest.TrainingCoarseError > 0 && r > DriftRatioAdvisingRetrain * _manifest.TrainingCoarseError)
                    || (balance.Mean >= 1 && balance.Largest > ImbalanceAdvisingRetrain * balance.Mean),
                StoreVectors = _manifest.StoreVectors,
                Codes = FastScanCodes ? "pq4fs" : "pq8",
                TrainingThreshold = _manifest.TrainingThreshold,
                Opq = _manifest.Opq,
                Rows = _manifest.Rows.ToShortName(),
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
                try
                {
                    segment.Segment.Verify();
                    segment.Payloads?.Verify();
                }
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
            using var builder = new SegmentBuilder(StorePath, number, _manifest.Shape, live, _rowCodec, _manifest.Fields);
            var code = new byte[_manifest.Shape.CodeSize];
            for (int list = 0; list < _buffer.Lists.Length; list++)
            {
                var entries = _buffer.Lists[list];
                for (int i = 0; i < entries.Count; i++)
                {
                    if (entries.IsDeleted(i)) continue;
                    var vector = entries.HasRows ? entries.Row(i) : ReadOnlySpan<float>.Empty;
                    entries.CodeAt(i, code);
                    // The payload moves from the log into the segment, so the log can give its copy back.
                    builder.Append(list, code, entries.Ids[i], _log.ReadPayload(entries.PayloadAddresses[i], entries.Ids[i]), vector,
                        entries.Fields?.Row(i, _manifest.Fields.Count));
                }
            }
            sealedBuffer = builder.Complete();
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
        WriteManifestOrDiscard(null, ref manifest, sealedBuffer);
        SwapStateLocked(manifest, _quantizer, segments, NewBuffer(_quantizer, manifest), []);
        foreach (var (segment, version) in staleDeletions) StoreFiles.TryDelete(Path.Combine(StorePath, DeletionBitmap.FileName(segment, version)));
        TruncateSealedLogLocked();
        StartMergeIfDueLocked();
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

    /// <summary>What the code of a sealed entry stands for: a store without full vectors has nothing closer once the log is truncated.</summary>
    private float[] Reconstruct(Segment segment, long position)
    {
        int low = 0, high = _manifest.NList - 1; // the last list starting at or before the position
        while (low < high)
        {
            int middle = (low + high + 1) >>> 1;
            if (segment.ListStart(middle) <= position) low = middle;
            else high = middle - 1;
        }
        while (segment.ListCount(low) == 0 || position >= segment.ListStart(low) + segment.ListCount(low)) low++; // skip empty lists sharing the start
        var code = new byte[_manifest.Shape.CodeSize];
        segment.CodeAt(low, (int)(position - segment.ListStart(low)), code);
        var vector = new float[Dimension];
        _quantizer!.Reconstruct(low, code, vector);
        return vector;
    }

    private float[] ReadVectorFromLog(long address, long id)
    {
        var vector = new float[Dimension];
        _log.ReadVector(address, id, vector);
        return vector;
    }

    private BytesPerEntry MeasureBytesPerEntry(long live)
    {
        long codes = 0, rows = 0, ids = 0, payloads = 0;
        foreach (var segment in _segments)
        {
            long number = segment.Segment.Number;
            long entries = segment.Segment.Count;
            long idBytes = entries * segment.Segment.IdBytesPerEntry;
            ids += idBytes;
            codes += FileSize(SegmentWriter.CodesFileName(number)) - idBytes;
            rows += FileSize(SegmentWriter.VectorsFileName(number));
            payloads += FileSize(SegmentPayloads.FileName(number));
        }
        long log = DirectorySize(Path.Combine(StorePath, LogDirectoryName));
        long other = DirectorySize(StorePath) - codes - rows - ids - payloads - log;
        double per = Math.Max(1, live);
        return new BytesPerEntry { Codes = codes / per, Rows = rows / per, Ids = ids / per, Payloads = payloads / per, Log = log / per, Other = other / per };

        long FileSize(string name) => SizeOrZero(new FileInfo(Path.Combine(StorePath, name)));
    }

    private static long DirectorySize(string directory)
    {
        long total = 0;
        if (!Directory.Exists(directory)) return 0; // a log kept elsewhere (the in-memory log of tests)
        try
        {
            foreach (var file in new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories)) total += SizeOrZero(file);
        }
        catch (DirectoryNotFoundException)
        {
            // A subdirectory (an old quantizer set) removed while being listed: what was counted stands.
        }
        return total;
    }

    // A background merge or log truncation may delete a file between listing it and reading its length: it then
    // takes no space, and GetInfo must not fail for it.
    private static long SizeOrZero(FileInfo file)
    {
        try
        {
            return file.Length;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return 0;
        }
    }
}
