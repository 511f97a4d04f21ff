using EmbeddedVectors.Lists;
using EmbeddedVectors.Storage;
using EmbeddedVectors.Training;

namespace EmbeddedVectors;

// The store's state: the writer's fields (EmbeddedVectorStore.cs) and the snapshot searches read. Every change
// goes through PublishLocked, so a search sees one state; SwapStateLocked is the one place a seal, a training or a
// compaction replaces parts of it.
public sealed partial class EmbeddedVectorStore
{
    private readonly List<StoreSnapshot> _pinned = [];
    private StoreSnapshot _current = null!; // published at the end of the constructor
    private long _publications;
    private bool _replaying;
    private (long Address, long Generation)? _pendingTruncation;

    /// <summary>Takes a reference to the current snapshot; release it when done.</summary>
    private StoreSnapshot AcquireSnapshot()
    {
        while (true)
        {
            ThrowIfDisposed();
            var snapshot = Volatile.Read(ref _current);
            if (snapshot.TryAcquire()) return snapshot;
        }
    }

    /// <summary>Publishes the writer's state as the snapshot searches see; the caller holds the state lock for writing.</summary>
    private void PublishLocked()
    {
        if (_replaying) return; // the constructor publishes once, after the whole log tail
        var views = new SegmentView[_segments.Count];
        long live = _buffer.Count - _buffer.DeletedCount;
        for (int s = 0; s < views.Length; s++)
        {
            views[s] = _segments[s].View();
            live += _segments[s].LiveCount;
        }
        var next = new StoreSnapshot(++_publications, _quantizer, _buffer.View(), views, live) { Released = Unpin };
        var previous = _current;
        Volatile.Write(ref _current, next);
        if (previous == null) return;
        lock (_pinned) _pinned.Add(previous);
        previous.Release();
    }

    private void Unpin(StoreSnapshot snapshot)
    {
        lock (_pinned) _pinned.Remove(snapshot);
    }

    /// <summary>Replaces what a seal, a training or a compaction changes, and publishes it; the writer lock is held.</summary>
    private void SwapStateLocked(Manifest manifest, IvfPqQuantizer? quantizer, List<SealedSegment> segments, CodeLists buffer,
        Dictionary<long, (int List, int Position)> bufferIds)
    {
        _state.EnterWriteLock();
        try
        {
            _manifest = manifest;
            _quantizer = quantizer;
            _segments = segments;
            _buffer = buffer;
            _bufferIds = bufferIds;
            PublishLocked();
        }
        finally { _state.ExitWriteLock(); }
    }

    /// <summary>
    /// Truncates the log before <paramref name="address"/> once no snapshot older than the current one is in use:
    /// a search or a payload read holding one may still follow an address in the dropped part.
    /// </summary>
    private void TruncateLogWhenUnpinnedLocked(long address)
    {
        _pendingTruncation = (address, _current.Generation);
        TruncateLogWhenUnpinnedLocked();
    }

    /// <summary>Carries out a pending truncation if nothing older than it is pinned any more; the writer lock is held.</summary>
    private void TruncateLogWhenUnpinnedLocked()
    {
        if (_pendingTruncation is not { } pending) return;
        lock (_pinned)
        {
            foreach (var snapshot in _pinned)
                if (snapshot.Generation < pending.Generation) return;
        }
        _log.TruncateUntil(pending.Address);
        _pendingTruncation = null;
    }
}
