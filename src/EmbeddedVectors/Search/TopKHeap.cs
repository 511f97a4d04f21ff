using System.Runtime.CompilerServices;

namespace EmbeddedVectors.Search;

/// <summary>
/// The k nearest candidates seen so far: a bounded max-heap on distance, so the current worst is at the root and a
/// candidate costs one comparison unless it beats it. Storage is caller-provided and reused across queries.
/// Ties are broken by the smaller id, so results are deterministic whatever order candidates arrive in.
/// </summary>
internal ref struct TopKHeap
{
    private readonly Span<float> _distances;
    private readonly Span<long> _ids;
    private int _count;

    public TopKHeap(Span<float> distances, Span<long> ids)
    {
        if (distances.Length != ids.Length) throw new ArgumentException("Distance and id storage differ in length.");
        _distances = distances;
        _ids = ids;
        _count = 0;
    }

    public readonly int Capacity => _distances.Length;
    public readonly int Count => _count;

    /// <summary>The distance a candidate must beat to enter: +∞ until the heap is full.</summary>
    public readonly float Threshold => _count < _distances.Length ? float.PositiveInfinity : _distances[0];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Push(float distance, long id)
    {
        if (_count < _distances.Length)
        {
            SiftUp(_count++, distance, id);
        }
        else if (Worse(_distances[0], _ids[0], distance, id))
        {
            SiftDown(distance, id);
        }
    }

    /// <summary>
    /// Leaves the kept candidates at the front of the storage in heap order, not sorted, and returns how many there
    /// are: for a caller that scores them all again, to which sorting would be wasted. The heap is then spent.
    /// </summary>
    public int TakeUnordered()
    {
        int n = _count;
        _count = 0;
        return n;
    }

    /// <summary>Sorts the kept candidates nearest first, in place, and returns how many there are. The heap is then spent.</summary>
    public int SortAscending()
    {
        int n = _count;
        // Heap sort: repeatedly move the worst to the end.
        for (int end = n - 1; end > 0; end--)
        {
            float d = _distances[end];
            long id = _ids[end];
            _distances[end] = _distances[0];
            _ids[end] = _ids[0];
            _count = end;
            SiftDown(d, id);
        }
        _count = 0;
        return n;
    }

    /// <summary>True when (d1, id1) ranks after (d2, id2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Worse(float d1, long id1, float d2, long id2) => d1 > d2 || (d1 == d2 && id1 > id2);

    private readonly void SiftUp(int index, float distance, long id)
    {
        while (index > 0)
        {
            int parent = (index - 1) >> 1;
            if (!Worse(distance, id, _distances[parent], _ids[parent])) break;
            _distances[index] = _distances[parent];
            _ids[index] = _ids[parent];
            index = parent;
        }
        _distances[index] = distance;
        _ids[index] = id;
    }

    private readonly void SiftDown(float distance, long id)
    {
        int n = _count;
        int index = 0;
        while (true)
        {
            int child = 2 * index + 1;
            if (child >= n) break;
            if (child + 1 < n && Worse(_distances[child + 1], _ids[child + 1], _distances[child], _ids[child])) child++;
            if (!Worse(_distances[child], _ids[child], distance, id)) break;
            _distances[index] = _distances[child];
            _ids[index] = _ids[child];
            index = child;
        }
        _distances[index] = distance;
        _ids[index] = id;
    }
}
