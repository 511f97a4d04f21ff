namespace EmbeddedVectors.Indexes;

/// <summary>An append-only array that doubles when full; spans over it are valid until the next append.</summary>
internal sealed class GrowableBuffer<T> where T : unmanaged
{
    private T[] _items;

    public GrowableBuffer(int initialCapacity = 16) => _items = new T[Math.Max(1, initialCapacity)];

    public long Length { get; private set; }

    public ReadOnlySpan<T> Span => _items.AsSpan(0, checked((int)Length));

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
            Array.Resize(ref _items, (int)capacity);
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
