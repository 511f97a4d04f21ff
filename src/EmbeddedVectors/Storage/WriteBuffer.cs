using EmbeddedVectors.Indexes;
using EmbeddedVectors.Kernels;

namespace EmbeddedVectors.Storage;

/// <summary>
/// The entries appended since the last seal, held in memory. Before training they are a flat list searched
/// exactly; after training they are IVF lists of PQ codes, scanned exactly like a sealed segment's lists, so a
/// fresh append costs a search no more than a sealed one. All mutation happens under the store's write lock.
/// </summary>
internal sealed class WriteBuffer
{
    private readonly int _codeSize;

    /// <param name="lists">One list when untrained, nlist when trained.</param>
    /// <param name="dimension">Vector length.</param>
    /// <param name="codeSize">Sub-quantizers (one code byte each as appended); 0 before training.</param>
    /// <param name="keepVectors">Keep full vectors for re-ranking.</param>
    /// <param name="packed">Keep codes in fast-scan blocks of 32 (4-bit codes) instead of one byte a sub-quantizer.</param>
    public WriteBuffer(int lists, int dimension, int codeSize, bool keepVectors, bool packed)
    {
        _codeSize = codeSize;
        Lists = new BufferList[lists];
        for (int l = 0; l < lists; l++) Lists[l] = new BufferList(dimension, codeSize, keepVectors, packed);
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
internal sealed class BufferList(int dimension, int codeSize, bool keepVectors, bool packed)
{
    private readonly GrowableBuffer<byte> _codes = new(Math.Max(1, codeSize) * 4);
    private readonly GrowableBuffer<long> _ids = new(4);
    private readonly GrowableBuffer<long> _payloadAddresses = new(4);
    private readonly GrowableBuffer<float> _vectors = new(keepVectors ? dimension * 4 : 1);
    private readonly GrowableBuffer<byte> _deleted = new(4);

    public int Count => (int)_ids.Length;

    /// <summary>The codes: one byte a sub-quantizer back to back, or fast-scan blocks when packed.</summary>
    public ReadOnlySpan<byte> Codes => _codes.Span;
    public ReadOnlySpan<long> Ids => _ids.Span;
    public ReadOnlySpan<long> PayloadAddresses => _payloadAddresses.Span;
    public ReadOnlySpan<byte> Deleted => _deleted.Span;
    public bool HasVectors => keepVectors;

    public ReadOnlySpan<float> Vector(int position) => _vectors.Span.Slice(position * dimension, dimension);

    /// <summary>The code of one entry, one byte a sub-quantizer, whichever way it is stored.</summary>
    public void CodeAt(int position, Span<byte> code)
    {
        if (packed) FastScan.Unpack(_codes.Span, position, codeSize, code);
        else _codes.Span.Slice(position * codeSize, codeSize).CopyTo(code);
    }

    public int Append(ReadOnlySpan<byte> code, long id, long payloadAddress, ReadOnlySpan<float> vector)
    {
        int position = Count;
        if (packed)
        {
            if (position % FastScan.BlockSize == 0) _codes.AppendDefault(FastScan.BlockBytes(codeSize));
            FastScan.Pack(code, _codes.WritableSpan, position, codeSize);
        }
        else if (codeSize > 0)
        {
            _codes.Append(code[..codeSize]);
        }
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
