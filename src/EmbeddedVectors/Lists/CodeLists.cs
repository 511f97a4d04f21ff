using System.Runtime.InteropServices;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Storage;

namespace EmbeddedVectors.Lists;

/// <summary>
/// Inverted lists held in memory: the in-memory IVFPQ index's lists and the store's write buffer. Before training
/// a store keeps one list searched exactly (codes empty, rows kept); after training there are nlist lists of PQ
/// codes scanned exactly like a sealed segment's.
/// </summary>
/// <remarks>
/// One thread mutates; any number read through <see cref="View"/>s. Every append and every deletion takes the next
/// number of one sequence; a view made at sequence S sees the entries appended at or before S and not deleted at
/// or before S. Entries are never moved or rewritten (a deletion writes one 64-bit stamp), so a view stays valid
/// while the writer goes on, and costs nothing to make.
/// </remarks>
internal sealed class CodeLists
{
    private long _sequence;

    /// <param name="lists">One list when untrained, nlist when trained.</param>
    /// <param name="dimension">Vector length.</param>
    /// <param name="codeSize">Sub-quantizers (one code byte each as appended); 0 before training.</param>
    /// <param name="keepRows">Keep full rows for re-ranking (always, before training).</param>
    /// <param name="packed">Keep codes in fast-scan blocks of 32 (4-bit codes) instead of one byte a sub-quantizer.</param>
    /// <param name="fields">Metadata fields kept per entry (none: no columns).</param>
    public CodeLists(int lists, int dimension, int codeSize, bool keepRows, bool packed, IReadOnlyList<FieldDefinition>? fields = null)
    {
        Fields = fields ?? [];
        CodeSize = codeSize;
        Dimension = dimension;
        KeepsRows = keepRows;
        Rows = keepRows ? RowCodec.Plain(RowEncoding.Float32, dimension) : null;
        Lists = new CodeList[lists];
        for (int l = 0; l < lists; l++) Lists[l] = new CodeList(dimension, codeSize, keepRows, packed, Fields);
    }

    /// <summary>One list when untrained, nlist lists when trained.</summary>
    public CodeList[] Lists { get; }

    public int Dimension { get; }
    public int CodeSize { get; }

    /// <summary>The metadata fields each entry carries.</summary>
    public IReadOnlyList<FieldDefinition> Fields { get; }
    public bool KeepsRows { get; }

    /// <summary>Rows are kept in memory as float32 (a store encodes them when it seals them into a segment).</summary>
    public RowCodec? Rows { get; }

    /// <summary>Entries appended, deleted ones included.</summary>
    public long Count { get; private set; }

    public long DeletedCount { get; private set; }

    /// <summary>The latest sequence number: a view made now sees everything done so far.</summary>
    public long Sequence => Volatile.Read(ref _sequence);

    public (int List, int Position) Append(int list, ReadOnlySpan<byte> code, long id, long payloadAddress, ReadOnlySpan<float> vector,
        object?[]? fields = null)
    {
        long sequence = _sequence + 1;
        int position = Lists[list].Append(code, id, payloadAddress, vector, sequence, fields);
        Count++;
        Volatile.Write(ref _sequence, sequence);
        return (list, position);
    }

    /// <summary>Marks an entry deleted; false when it already was.</summary>
    public bool MarkDeleted(int list, int position)
    {
        long sequence = _sequence + 1;
        if (!Lists[list].MarkDeleted(position, sequence)) return false;
        DeletedCount++;
        Volatile.Write(ref _sequence, sequence);
        return true;
    }

    /// <summary>A view of the lists as they are now.</summary>
    public CodeListsView View() => new(this, Sequence);
}

/// <summary>One list of <see cref="CodeLists"/>: parallel arrays indexed by position.</summary>
internal sealed class CodeList(int dimension, int codeSize, bool keepRows, bool packed, IReadOnlyList<FieldDefinition> fields)
{
    private const long Live = long.MaxValue;

    private readonly GrowableBuffer<byte> _codes = new(Math.Max(1, codeSize) * 4);
    private readonly GrowableBuffer<long> _ids = new(4);
    private readonly GrowableBuffer<long> _payloadAddresses = new(4);
    private readonly GrowableBuffer<float> _rows = new(keepRows ? dimension * 4 : 1);
    private readonly GrowableBuffer<long> _appendedAt = new(4);
    private readonly GrowableBuffer<long> _deletedAt = new(4);
    private readonly FieldColumns? _fields = fields.Count == 0 ? null : new FieldColumns(fields, 4);

    /// <summary>The entries' field values (null when the store declares none), read bounded by a view's count.</summary>
    public FieldColumns? Fields => _fields;

    /// <summary>Entries appended, deleted ones included (the writer's count: readers use a view's).</summary>
    public int Count => (int)_ids.Length;

    // Entries whose every array is written, stamp included (written last, by the one writer).
    private int _published;

    public ReadOnlySpan<long> Ids => _ids.Span;
    public ReadOnlySpan<long> PayloadAddresses => _payloadAddresses.Span;
    public bool HasRows => keepRows;

    /// <summary>True when the entry is deleted now (the writer's view).</summary>
    public bool IsDeleted(int position) => _deletedAt.Span[position] != Live;

    public ReadOnlySpan<float> Row(int position) => _rows.Span.Slice(position * dimension, dimension);

    /// <summary>The code of one entry, one byte a sub-quantizer, whichever way it is stored.</summary>
    public void CodeAt(int position, Span<byte> code)
    {
        if (packed) FastScan.Unpack(_codes.Span, position, codeSize, code);
        else _codes.Span.Slice(position * codeSize, codeSize).CopyTo(code);
    }

    public int Append(ReadOnlySpan<byte> code, long id, long payloadAddress, ReadOnlySpan<float> vector, long sequence, object?[]? fields = null)
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
        _payloadAddresses.Append(payloadAddress);
        if (keepRows) _rows.Append(vector);
        _deletedAt.Append(Live);
        _fields?.Append(fields);
        _ids.Append(id);
        // The stamp last: a reader counts an entry only once its stamp is written, and every array it reads is by then.
        _appendedAt.Append(sequence);
        Volatile.Write(ref _published, position + 1);
        return position;
    }

    public bool MarkDeleted(int position, long sequence)
    {
        if (IsDeleted(position)) return false;
        Volatile.Write(ref _deletedAt.Items[position], sequence);
        return true;
    }

    /// <summary>
    /// Entries appended at or before <paramref name="sequence"/>: a prefix, since sequences rise with position.
    /// Slots not yet written hold 0 (sequences start at 1), so the search needs no length from the writer.
    /// </summary>
    public int CountAt(long sequence)
    {
        if (sequence == CodeListsView.Latest) return Count;
        // Most views see the whole list: if its last complete entry is visible, all are (stamps rise with position).
        int published = Volatile.Read(ref _published);
        var appendedAt = _appendedAt.Items;
        if (published == 0) return 0;
        if (published <= appendedAt.Length && Volatile.Read(ref appendedAt[published - 1]) <= sequence) return published;
        int low = 0, high = Math.Min(published, appendedAt.Length); // the first position not visible
        while (low < high)
        {
            int middle = (low + high) >>> 1;
            long stamp = Volatile.Read(ref appendedAt[middle]);
            if (stamp != 0 && stamp <= sequence) low = middle + 1;
            else high = middle;
        }
        return low;
    }

    /// <summary>The run of this list a view at <paramref name="sequence"/> sees.</summary>
    public CellRun Run(long sequence, long firstPosition, bool anyDeleted)
    {
        int count = CountAt(sequence);
        int codeBytes = packed ? (int)FastScan.BytesFor(count, codeSize) : count * codeSize;
        return new CellRun(_codes.Items.AsSpan(0, codeBytes), _ids.Items.AsSpan(0, count), count, firstPosition,
            anyDeleted ? Liveness.Versioned(_deletedAt.Items.AsSpan(0, count), sequence) : Liveness.All);
    }

    /// <summary>A row by position, for readers bounded by a view.</summary>
    public ReadOnlySpan<float> RowAt(int position) => _rows.Items.AsSpan(position * dimension, dimension);

    public long IdAt(int position) => _ids.Items[position];
}

/// <summary>An unchanging view of <see cref="CodeLists"/> at one sequence number.</summary>
internal sealed class CodeListsView(CodeLists lists, long sequence) : IInvertedLists, IFieldLists
{
    // Positions are cell << 28 | index: 2^28 entries a cell, 2^20 cells, within the 48 bits a shortlist label holds.
    private const int IndexBits = 28;

    /// <summary>A sequence no entry reaches: a view at it sees every entry appended and deleted, whenever (for lists no one writes while they are searched).</summary>
    public const long Latest = long.MaxValue - 1;

    public CodeLists Lists => lists;

    public long Sequence => sequence;

    public bool IsMapped => false;

    public bool HasRows => lists.KeepsRows;

    public RowCodec? Rows => lists.Rows;

    // No deletion at or before this view's sequence (counted when the writer made it): no test per candidate.
    private readonly bool _anyDeleted = lists.DeletedCount > 0;

    // Nothing appended at or before this view (a freshly sealed or untouched buffer): no list to look at.
    private readonly bool _empty = sequence != Latest && lists.Count == 0;

    // The cell array itself, so reaching a row is one load fewer (re-ranking reaches a hundred rows a query).
    private readonly CodeList[] _cells = lists.Lists;

    public CellRun Cell(int cell) => _empty ? default : _cells[cell].Run(sequence, (long)cell << IndexBits, _anyDeleted);

    public FieldColumns? Columns(int cell, out long start)
    {
        start = 0;
        return _cells[cell].Fields;
    }

    public ReadOnlySpan<byte> Row(long position, out long id)
    {
        var list = _cells[(int)(position >> IndexBits)];
        int index = (int)(position & ((1L << IndexBits) - 1));
        id = list.IdAt(index);
        return MemoryMarshal.AsBytes(list.RowAt(index));
    }

    public ReadOnlySpan<byte> RowAt(long position) =>
        MemoryMarshal.AsBytes(_cells[(int)(position >> IndexBits)].RowAt((int)(position & ((1L << IndexBits) - 1))));
}
