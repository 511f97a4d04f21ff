using EmbeddedVectors.Lists;
using EmbeddedVectors.Storage;
using EmbeddedVectors.Training;

namespace EmbeddedVectors;

/// <summary>
/// What a search of the store sees: the quantizers, a view of the write buffer and a view of every segment with
/// its deletions, all fixed at one moment. The writer publishes a new snapshot after each change; a search takes
/// a reference to the current one and runs with no lock, so user code it calls (a filter) may use the store. The
/// segments a snapshot holds stay mapped until its last reference is released.
/// </summary>
internal sealed class StoreSnapshot
{
    private readonly SegmentView[] _segments;
    private int _references = 1; // the store's, until it publishes the next one

    public StoreSnapshot(long generation, IvfPqQuantizer? quantizer, CodeListsView buffer, SegmentView[] segments, long liveCount)
    {
        Generation = generation;
        Quantizer = quantizer;
        Buffer = buffer;
        _segments = segments;
        LiveCount = liveCount;
        var sources = new IInvertedLists[segments.Length + 1];
        sources[0] = buffer; // source 0: shortlist labels of the buffer, then the segments in order
        for (int s = 0; s < segments.Length; s++) sources[s + 1] = segments[s];
        Sources = sources;
    }

    /// <summary>Publication number: later snapshots have larger ones.</summary>
    public long Generation { get; }

    /// <summary>The trained quantizers, or null while the store searches exactly.</summary>
    public IvfPqQuantizer? Quantizer { get; }

    public CodeListsView Buffer { get; }

    public ReadOnlySpan<SegmentView> Segments => _segments;

    /// <summary>The write buffer, then each segment: what the searcher scans.</summary>
    public IInvertedLists[] Sources { get; }

    /// <summary>Live entries in this snapshot.</summary>
    public long LiveCount { get; }

    /// <summary>Called once, when the last reference is released.</summary>
    public Action<StoreSnapshot>? Released { get; init; }

    /// <summary>Takes a reference unless the snapshot is already fully released.</summary>
    public bool TryAcquire()
    {
        int references = Volatile.Read(ref _references);
        while (references > 0)
        {
            int seen = Interlocked.CompareExchange(ref _references, references + 1, references);
            if (seen == references) return true;
            references = seen;
        }
        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) != 0) return;
        foreach (var segment in _segments) segment.Owner.Release();
        Released?.Invoke(this);
    }
}
