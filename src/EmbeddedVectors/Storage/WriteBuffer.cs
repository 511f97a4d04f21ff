using EmbeddedVectors.Indexes;

namespace EmbeddedVectors.Storage;

/// <summary>
/// The entries appended since the last seal, held in memory. Before training they are a flat list searched
/// exactly; after training they are IVF lists of PQ codes, scanned exactly like a sealed segment's lists, so a
/// fresh append costs a search no more than a sealed one. All mutation happens under the store's write lock.
/// </summary>
internal sealed class WriteBuffer
{
    private readonly int _dimension;
    private readonly int _codeSize;
    private readonly bool _keepVectors;

    public WriteBuffer(int lists, int dimension, int codeSize, bool keepVectors)
    {
        _dimension = dimension;
        _codeSize = codeSize;
        _keepVectors = keepVectors;
        Lists = new BufferList[lists];
        for (int l = 0; l < lists; l++) Lists[l] = new BufferList(dimension, codeSize, keepVectors);
    }

    /// <summary>One list when untrained (codes empty, vectors always kept), nlist lists when trained.</summary>
    public BufferList[] Lists { get; }

    public bool IsTrained => _codeSize > 0;

    /// <summary>Entries appended, deleted ones included.</summary>
    public long Count { get; private set; }

    public long DeletedCount { get; private set; }

    public (int List, int Position) Append(int list, ReadOnlySpan<byte> code, long id, long payloadAddress, ReadOnlySpan<float> vector)
    {
        int position = Lists[list].Append(code, id, payloadAddress, vector);
        Count++;
        return (list, position);
    }

    public bool MarkDeleted(int list, int position)
    {
        if (!Lists[list].MarkDeleted(position)) return false;
        DeletedCount++;
        return true;
    }
}

/// <summary>One list of a <see cref="WriteBuffer"/>: parallel arrays indexed by position.</summary>
internal sealed class BufferList(int dimension, int codeSize, bool keepVectors)
{
    private readonly GrowableBuffer<byte> _codes = new(Math.Max(1, codeSize) * 4);
    private readonly GrowableBuffer<long> _ids = new(4);
    private readonly GrowableBuffer<long> _payloadAddresses = new(4);
    private readonly GrowableBuffer<float> _vectors = new(keepVectors ? dimension * 4 : 1);
    private readonly GrowableBuffer<byte> _deleted = new(4);

    public int Count => (int)_ids.Length;
    public ReadOnlySpan<byte> Codes => _codes.Span;
    public ReadOnlySpan<long> Ids => _ids.Span;
    public ReadOnlySpan<long> PayloadAddresses => _payloadAddresses.Span;
    public ReadOnlySpan<byte> Deleted => _deleted.Span;
    public bool HasVectors => keepVectors;

    public ReadOnlySpan<float> Vector(int position) => _vectors.Span.Slice(position * dimension, dimension);

    public int Append(ReadOnlySpan<byte> code, long id, long payloadAddress, ReadOnlySpan<float> vector)
    {
        int position = Count;
        if (codeSize > 0) _codes.Append(code[..codeSize]);
        _ids.Append(id);
        _payloadAddresses.Append(payloadAddress);
        if (keepVectors) _vectors.Append(vector);
        _deleted.Append(0);
        return position;
    }

    public bool MarkDeleted(int position)
    {
        if (_deleted.Span[position] != 0) return false;
        _deleted.SetAt(position, 1);
        return true;
    }
}
