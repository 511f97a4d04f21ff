namespace EmbeddedVectors;

/// <summary>
/// Field values of a run of entries, one column a field: what a filter is evaluated against. A sealed segment
/// holds one for all its entries (indexed by position); the write buffer one per list, appended by the writer
/// while searches read: values are written before the entry is published and arrays are only replaced by larger
/// copies, so a reader bounded by a published count sees them (as <see cref="Lists.GrowableBuffer{T}"/>).
/// </summary>
internal sealed class FieldColumns
{
    private readonly Column[] _columns;

    public FieldColumns(IReadOnlyList<FieldDefinition> schema, int capacity)
    {
        _columns = new Column[schema.Count];
        for (int f = 0; f < schema.Count; f++) _columns[f] = new Column(schema[f].Type, Math.Max(1, capacity));
    }

    /// <summary>Entries appended (the writer's count).</summary>
    public int Count { get; private set; }

    /// <summary>Fields held (a store may have declared more since: those are null here).</summary>
    public int FieldCount => _columns.Length;

    /// <summary>Appends one entry's values (schema order; null: every field null).</summary>
    public void Append(object?[]? row)
    {
        int index = Count;
        for (int f = 0; f < _columns.Length; f++) _columns[f].Set(index, row != null && f < row.Length ? row[f] : null);
        Count = index + 1;
    }

    /// <summary>Whether field <paramref name="field"/> of entry <paramref name="index"/> has a value.</summary>
    public bool IsPresent(int field, int index) => field < _columns.Length && _columns[field].Present[index] != 0;

    public long Long(int field, int index) => _columns[field].Numbers[index];

    /// <summary>Field <paramref name="field"/>'s presence flags (1: has a value), by index; as long as the column's storage, which may exceed <see cref="Count"/>.</summary>
    public ReadOnlySpan<byte> PresentColumn(int field) => _columns[field].Present;

    /// <summary>Field <paramref name="field"/>'s values when it is a long, bool or date field, by index (as <see cref="PresentColumn"/>).</summary>
    public ReadOnlySpan<long> LongColumn(int field) => _columns[field].Numbers;
    public double Double(int field, int index) => _columns[field].Doubles[index];
    public object? Object(int field, int index) => _columns[field].Objects[index];

    /// <summary>Entry <paramref name="index"/>'s values in schema order, as <see cref="FieldRow"/> keeps them.</summary>
    public object?[] Row(int index, int schemaCount)
    {
        var row = new object?[schemaCount];
        for (int f = 0; f < Math.Min(schemaCount, _columns.Length); f++)
        {
            var column = _columns[f];
            if (column.Present[index] == 0) continue;
            row[f] = column.Type switch
            {
                FieldType.Double => column.Doubles[index],
                FieldType.String or FieldType.Tags => column.Objects[index],
                _ => column.Numbers[index],
            };
        }
        return row;
    }

    /// <summary>Values of one field for entries 0..n−1, for the segment's field file.</summary>
    public FieldType TypeOf(int field) => _columns[field].Type;

    private sealed class Column(FieldType type, int capacity)
    {
        public readonly FieldType Type = type;
        public byte[] Present = new byte[capacity];
        public long[] Numbers = type is FieldType.Long or FieldType.Bool or FieldType.Date ? new long[capacity] : [];
        public double[] Doubles = type == FieldType.Double ? new double[capacity] : [];
        public object?[] Objects = type is FieldType.String or FieldType.Tags ? new object?[capacity] : [];

        public void Set(int index, object? value)
        {
            if (index >= Present.Length) Grow(Math.Max(index + 1, Present.Length * 2));
            if (value != null)
            {
                switch (Type)
                {
                    case FieldType.Double: Doubles[index] = (double)value; break;
                    case FieldType.String or FieldType.Tags: Objects[index] = value; break;
                    default: Numbers[index] = (long)value; break;
                }
            }
            Present[index] = value == null ? (byte)0 : (byte)1;
        }

        private void Grow(int capacity)
        {
            // Copy first, publish after: a reader holding an old array still sees every value it may read.
            if (Numbers.Length > 0) Volatile.Write(ref Numbers, Copy(Numbers, capacity));
            if (Doubles.Length > 0) Volatile.Write(ref Doubles, Copy(Doubles, capacity));
            if (Objects.Length > 0) Volatile.Write(ref Objects, Copy(Objects, capacity));
            Volatile.Write(ref Present, Copy(Present, capacity));
        }

        private static T[] Copy<T>(T[] items, int capacity)
        {
            var larger = new T[capacity];
            items.CopyTo(larger, 0);
            return larger;
        }
    }
}
