namespace EmbeddedVectors.Lists;

/// <summary>An append-only array that doubles when full; spans over it are valid until the next append.</summary>
internal sealed class GrowableBuffer<T> where T : unmanaged
{
    private T[] _items;

    public GrowableBuffer(int initialCapacity = 16) => _items = new T[Math.Max(1, initialCapacity)];

    public long Length { get; private set; }

    public ReadOnlySpan<T> Span => _items.AsSpan(0, checked((int)Length));

    /// <summary>
    /// The backing array as it is now, for readers on other threads that bound themselves by a length published
    /// earlier: an append either writes beyond every published length or moves the items to a larger array, so any
    /// array a reader sees holds at least what was published.
    /// </summary>
    public T[] Items => Volatile.Read(ref _items);

    /// <summary>The filled part, writable: for layouts updated in place (fast-scan blocks).</summary>
    public Span<T> WritableSpan => _items.AsSpan(0, checked((int)Length));

    /// <summary>Appends <paramref name="count"/> default values.</summary>
    public void AppendDefault(int count)
    {
        if (count <= 0) return;
        Append(new T[count]);
    }

    public void Append(ReadOnlySpan<T> values)
    {
        long needed = Length + values.Length;
        if (needed > _items.Length)
        {
            long capacity = Math.Max(needed, Math.Min((long)_items.Length * 2, Array.MaxLength));
            if (capacity > Array.MaxLength)
                throw new InvalidOperationException("An in-memory buffer is full (2^31 elements); use the on-disk store for larger collections.");
            var larger = new T[(int)capacity];
            _items.AsSpan(0, (int)Length).CopyTo(larger);
            Volatile.Write(ref _items, larger);
        }
        values.CopyTo(_items.AsSpan((int)Length));
        Length = needed;
    }

    public void Append(T value) => Append([value]);

    public void SetAt(long index, T value)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Length);
        _items[index] = value;
    }
}
