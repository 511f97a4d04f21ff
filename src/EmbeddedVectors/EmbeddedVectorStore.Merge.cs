using EmbeddedVectors.Storage;

namespace EmbeddedVectors;

// Segment merging: the tiered policy, the background merge, and the one routine that writes a segment from
// several (shared with compaction).
public sealed partial class EmbeddedVectorStore
{
    private readonly CancellationTokenSource _mergeCancel = new();
    private Task? _merge;
    private Exception? _mergeFailure;

    /// <summary>
    /// Waits until no background merge is running or due. Merging is automatic (see
    /// <see cref="EmbeddedVectorStoreOptions.MergeFactor"/>); this is for benchmarks and tests that want the
    /// merged state.
    /// </summary>
    /// <exception cref="EmbeddedVectorsException">A background merge failed (its message says why); the store is unharmed.</exception>
    public void WaitForMerges()
    {
        ThrowIfDisposed();
        while (Volatile.Read(ref _merge) is { IsCompleted: false } running)
        {
            try { running.Wait(); }
            catch (AggregateException) { }
        }
        if (_mergeFailure is { } failure)
        {
            _mergeFailure = null; // reported once; merging resumes at the next seal (after space is freed, say)
            if (WriteFailures.IsWriteFailure(failure)) throw WriteFailures.Describe(failure, StorePath, "background merge of segments");
            throw new EmbeddedVectorsException($"A background merge of segments failed: {failure.Message}", failure);
        }
    }

    /// <summary>Starts a background merge when a size tier holds MergeFactor segments and none is running; the writer lock is held.</summary>
    private void StartMergeIfDueLocked()
    {
        int factor = _options.MergeFactor;
        if (factor < 2 || IsReadOnly || _disposing || _mergeFailure != null || _merge is { IsCompleted: false }) return;
        var pickedIndexes = PickMerge(_segments.Select(segment => (segment.LiveCount, segment.Segment.Count)).ToList(), factor, SealThreshold);
        if (pickedIndexes == null) return;
        var picked = pickedIndexes.Select(i => _segments[i]).ToList();
        long number = _manifest.NextSegmentNumber;
        // Reserved in memory; written with the next manifest. A crash before that leaves an unnamed file that a later
        // segment of the same number replaces.
        _manifest = _manifest with { NextSegmentNumber = number + 1 };
        var sources = new SegmentView[picked.Count];
        long live = 0;
        for (int i = 0; i < sources.Length; i++)
        {
            sources[i] = picked[i].View();
            live += picked[i].LiveCount;
        }
        _merge = Task.Run(() => MergeInBackground(sources, number, live));
    }

    /// <summary>
    /// Which segments to merge next, by index: the smallest tier holding at least <paramref name="factor"/>
    /// segments, where tier t holds segments of [unit·factor^t, unit·factor^(t+1)) live entries; null when no tier
    /// is full. <paramref name="segments"/> gives each segment's live entries and its entries, deleted ones included.
    /// </summary>
    internal static List<int>? PickMerge(IReadOnlyList<(long Live, long Entries)> segments, int factor, int unit)
    {
        var tiers = new SortedDictionary<int, List<int>>();
        for (int i = 0; i < segments.Count; i++)
        {
            int tier = 0;
            for (long size = Math.Max(1, unit) * (long)factor; segments[i].Live >= size && tier < 40; size *= factor) tier++;
            if (!tiers.TryGetValue(tier, out var members)) tiers[tier] = members = [];
            members.Add(i);
        }
        foreach (var members in tiers.Values)
        {
            if (members.Count < factor) continue;
            var picked = members.GetRange(0, factor);
            long total = 0;
            foreach (int i in picked) total += segments[i].Entries;
            if (total > Array.MaxLength) continue; // a segment's ids are sorted in one array when written
            return picked;
        }
        return null;
    }

    private void MergeInBackground(SegmentView[] sources, long number, long live)
    {
        SealedSegment? merged = null;
        try
        {
            merged = live > 0 ? WriteSegment(number, sources, live, _mergeCancel.Token) : null;
            _options.MergeWrittenHook?.Invoke();
            lock (_writer)
            {
                if (_disposing || !sources.All(source => _segments.Contains(source.Owner)))
                {
                    // Compaction replaced the sources meanwhile (or the store is closing): the merge is moot.
                    Discard(merged);
                    return;
                }
                CarryOverDeletions(sources, merged);
                var segments = new List<SealedSegment>(_segments.Count);
                foreach (var segment in _segments)
                {
                    bool source = sources.Any(view => view.Owner == segment);
                    if (source && merged != null && segment == sources[0].Owner) segments.Add(merged);
                    else if (!source) segments.Add(segment);
                }
                var manifest = _manifest with { Segments = segments.Select(s => s.ToEntry()).ToList(), Generation = _manifest.Generation + 1 };
                manifest.Write(StorePath);
                SwapStateLocked(manifest, _quantizer, segments, _buffer, _bufferIds);
                foreach (var source in sources)
                {
                    source.Owner.MarkObsolete();
                    source.Owner.Release();
                }
                merged = null;
                _merge = null;
                TruncateSealedLogLocked(); // the last segment from before version 2 may just have been merged away
                StartMergeIfDueLocked(); // the merged segment may fill the next tier
            }
        }
        catch (OperationCanceledException)
        {
            Discard(merged);
        }
        catch (Exception e)
        {
            // A full disk, say: the sources stay as they are and merging stops for this open; WaitForMerges reports it.
            _mergeFailure = e;
            Discard(merged);
        }
        finally
        {
            foreach (var source in sources) source.Owner.Release();
        }
    }

    /// <summary>Deletions made in the sources while the merge ran (upserts included) also apply to the merged segment, durably.</summary>
    private void CarryOverDeletions(SegmentView[] sources, SealedSegment? merged)
    {
        if (merged == null) return;
        foreach (var source in sources)
        {
            foreach (long position in source.Owner.Deleted.DeletedSince(source.Deleted))
            {
                long moved = merged.Segment.Find(source.Segment.IdAt(position));
                if (moved >= 0) merged.MarkDeleted(moved, _publications);
            }
        }
        // The log records of these deletions may already lie before the sealed-until address.
        if (merged.Dirty) merged.WriteDeletions();
    }

    private static void Discard(SealedSegment? segment)
    {
        if (segment == null) return;
        segment.MarkObsolete();
        segment.Release();
    }

    /// <summary>
    /// Writes segment <paramref name="number"/> (with its payload file) from the entries of <paramref name="sources"/>
    /// live in each view, list by list, and opens it.
    /// </summary>
    private SealedSegment WriteSegment(long number, IReadOnlyList<SegmentView> sources, long live, CancellationToken cancellation)
    {
        var shape = _manifest.Shape;
        // One schema for the whole segment: fields may be added (under the writer lock) while a merge runs.
        var fields = _manifest.Fields;
        using var builder = new SegmentBuilder(StorePath, number, shape, live, _rowCodec, fields);
        var code = new byte[shape.CodeSize];
        for (int list = 0; list < shape.NList; list++)
        {
            cancellation.ThrowIfCancellationRequested();
            foreach (var source in sources)
            {
                var segment = source.Segment;
                long start = segment.ListStart(list);
                var ids = segment.Ids(list);
                var addresses = segment.PayloadAddresses(list);
                for (int i = 0; i < ids.Length; i++)
                {
                    if (source.Deleted.IsDeleted(start + i)) continue;
                    var vector = shape.HasVectors ? segment.VectorAt(start + i) : ReadOnlySpan<float>.Empty;
                    segment.CodeAt(list, i, code);
                    builder.Append(list, code, ids[i], ReadPayload(source.Owner, addresses[i], ids[i]), vector,
                        source.Owner.Fields?.Row((int)(start + i), fields.Count));
                }
            }
        }
        return builder.Complete();
    }

    /// <summary>A sealed entry's payload: from its segment's payload file, or from the log for segments written before those existed.</summary>
    private byte[] ReadPayload(SealedSegment segment, long address, long id)
        => segment.Payloads != null ? segment.Payloads.Read(address, id) : _log.ReadPayload(address, id);

    /// <summary>
    /// Once every segment keeps its own payloads, nothing sealed refers to the log before the sealed-until
    /// address: give that part back (a whole log file at a time) when no older snapshot is in use.
    /// </summary>
    // With KeepNewestSealInLog: where the newest seal and the one before it ended in the log (0: not seen in this open).
    private long _newestSealEnd, _previousSealEnd;

    private void TruncateSealedLogLocked()
    {
        foreach (var segment in _segments)
            if (segment.Payloads == null) return; // a segment from before version 2 still reads payloads from the log
        long sealedUntil = _manifest.SealedUntilAddress;
        if (!_options.KeepNewestSealInLog)
        {
            TruncateLogWhenUnpinnedLocked(sealedUntil);
            return;
        }
        // Keep from where the seal before the newest one ended: the newest seal's records stay for Repair. The first
        // seal of an open knows no earlier end and truncates nothing.
        if (sealedUntil != _newestSealEnd)
        {
            _previousSealEnd = _newestSealEnd;
            _newestSealEnd = sealedUntil;
        }
        if (_previousSealEnd > 0) TruncateLogWhenUnpinnedLocked(_previousSealEnd);
    }
}
