using System.Buffers;
using System.Globalization;
using System.Text;

namespace EmbeddedVectors;

/// <summary>
/// A filter compiled against a schema: field names resolved to column ordinals and literals converted to the
/// column's stored form, so a test reads one column value and compares (no per-candidate delegate, no boxing).
/// </summary>
internal abstract class FilterNode
{
    /// <summary>Whether entry <paramref name="index"/> of <paramref name="columns"/> (null: every field null) with <paramref name="id"/> passes.</summary>
    public abstract bool Match(FieldColumns? columns, int index, long id);

    /// <summary>
    /// Appends a text that identifies what this node matches, built from the compiled values (field ordinals, ticks,
    /// exact doubles), so two filters with one key match the same entries of a segment: the key of the per-segment
    /// match cache. False when the node cannot be keyed (an opaque id delegate).
    /// </summary>
    public abstract bool AppendKey(StringBuilder key);

    /// <summary>
    /// Sets (ORs in) bit i of <paramref name="bits"/> for every entry i of <paramref name="columns"/> that passes, i from
    /// 0 to <paramref name="ids"/>' length (its ids by index): a whole sealed segment at once. Nodes that can test a
    /// column in one loop do so; the rest test entry by entry.
    /// </summary>
    public virtual void MatchAll(FieldColumns? columns, ReadOnlySpan<long> ids, Span<ulong> bits)
    {
        for (int i = 0; i < ids.Length; i++)
            if (Match(columns, i, ids[i])) bits[i >> 6] |= 1UL << (i & 63);
    }

    /// <summary>
    /// ORs into <paramref name="bits"/> the complement of <paramref name="fill"/>'s matches (no <paramref name="second"/>),
    /// or their AND / OR with <paramref name="second"/>'s, each evaluated into a cleared bitmap from the shared pool.
    /// </summary>
    private protected static void WithTemporary(int words, FieldColumns? columns, ReadOnlySpan<long> ids, FilterNode fill, Span<ulong> bits, bool and, FilterNode? second)
    {
        var first = ArrayPool<ulong>.Shared.Rent(words);
        var other = second == null ? null : ArrayPool<ulong>.Shared.Rent(words);
        try
        {
            var a = first.AsSpan(0, words);
            a.Clear();
            fill.MatchAll(columns, ids, a);
            if (second == null)
            {
                // not: the complement within the ids' range (bits past it stay clear).
                int tail = ids.Length & 63;
                for (int w = 0; w < words; w++)
                    bits[w] |= ~a[w] & (w == words - 1 && tail != 0 ? (1UL << tail) - 1 : ulong.MaxValue);
                return;
            }
            var b = other!.AsSpan(0, words);
            b.Clear();
            second.MatchAll(columns, ids, b);
            for (int w = 0; w < words; w++) bits[w] |= and ? a[w] & b[w] : a[w] | b[w];
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(first);
            if (other != null) ArrayPool<ulong>.Shared.Return(other);
        }
    }

    /// <summary>The cache key of this filter, or null when it has none.</summary>
    public string? CacheKey()
    {
        var key = new StringBuilder();
        return AppendKey(key) ? key.ToString() : null;
    }

    private protected static void AppendText(StringBuilder key, string text) => key.Append(text.Length).Append(':').Append(text);
}

internal sealed class CompareFilter(string name, FilterOperator op, object value) : Filter
{
    // Parts read by the cluster's filter wire form (EmbeddedVectors.Cluster), which rebuilds the filter on a shard.
    internal string Name => name;
    internal FilterOperator Operator => op;
    internal object Value => value;

    internal override FilterNode Compile(IReadOnlyList<FieldDefinition> schema)
    {
        int field = Resolve(schema, name);
        var type = schema[field].Type;
        return type switch
        {
            FieldType.Long or FieldType.Date or FieldType.Bool => new LongCompare(field, op, FilterValues.ToLong(schema[field], value, op)),
            FieldType.Double => new DoubleCompare(field, op, FilterValues.ToDouble(schema[field], value)),
            FieldType.String => new StringCompare(field, op, FilterValues.ToStringValue(schema[field], value)),
            _ => throw FilterValues.Mismatch(schema[field], value, "use contains or contains any on a tags field"),
        };
    }

    public override string ToString() => $"{name} {FilterValues.Symbol(op)} {Literal(value)}";
}

internal sealed class InFilter(string name, object[] values) : Filter
{
    internal string Name => name;
    internal object[] Values => values;

    internal override FilterNode Compile(IReadOnlyList<FieldDefinition> schema)
    {
        var nodes = new List<FilterNode>();
        foreach (var value in values) nodes.Add(new CompareFilter(name, FilterOperator.Equal, value).Compile(schema));
        if (nodes.Count == 0) Resolve(schema, name);
        return new AnyNode([.. nodes]);
    }

    public override string ToString()
    {
        var parts = new List<string>();
        foreach (var value in values) parts.Add(Literal(value));
        return $"{name} in ({string.Join(", ", parts)})";
    }
}

internal sealed class NullFilter(string name, bool isNull) : Filter
{
    internal string Name => name;
    internal bool IsNull => isNull;

    internal override FilterNode Compile(IReadOnlyList<FieldDefinition> schema) => new NullNode(Resolve(schema, name), isNull);

    public override string ToString() => isNull ? $"{name} is null" : $"{name} is not null";
}

internal sealed class TagsContainFilter(string name, string[] tags) : Filter
{
    internal string Name => name;
    internal string[] TagValues => tags;

    internal override FilterNode Compile(IReadOnlyList<FieldDefinition> schema)
    {
        int field = Resolve(schema, name);
        if (schema[field].Type != FieldType.Tags)
            throw new ArgumentException($"field '{name}' is {schema[field].TypeName}; contains applies to tags fields only.");
        return new TagsNode(field, tags);
    }

    public override string ToString()
    {
        if (tags.Length == 1) return $"{name} contains {Literal(tags[0])}";
        var parts = new List<string>();
        foreach (var tag in tags) parts.Add(Literal(tag));
        return $"{name} contains any ({string.Join(", ", parts)})";
    }
}

internal sealed class IdFilter(long[]? ids, Func<long, bool>? predicate) : Filter
{
    internal long[]? Ids => ids;
    internal bool HasPredicate => predicate != null;

    internal override FilterNode Compile(IReadOnlyList<FieldDefinition> schema) => new IdNode(ids == null ? null : [.. ids], predicate);

    public override string ToString() => ids == null ? "id matches a predicate" : $"id in ({string.Join(", ", ids)})";
}

/// <summary>An id compared with a value: plain data (unlike a predicate), so it can be sent to a cluster's shards.</summary>
internal sealed class IdCompareFilter(FilterOperator op, long value) : Filter
{
    internal FilterOperator Operator => op;
    internal long Value => value;

    internal override FilterNode Compile(IReadOnlyList<FieldDefinition> schema)
        => new IdNode(null, candidate => FilterValues.Holds(op, candidate.CompareTo(value)));

    public override string ToString() => $"id {FilterValues.Symbol(op)} {value}";
}

internal sealed class LogicalFilter(bool and, Filter left, Filter right) : Filter
{
    internal bool IsAnd => and;
    internal Filter Left => left;
    internal Filter Right => right;

    internal override FilterNode Compile(IReadOnlyList<FieldDefinition> schema)
        => new LogicalNode(and, left.Compile(schema), right.Compile(schema));

    public override string ToString() => $"({left} {(and ? "and" : "or")} {right})";
}

internal sealed class NotFilter(Filter inner) : Filter
{
    internal Filter Inner => inner;

    internal override FilterNode Compile(IReadOnlyList<FieldDefinition> schema) => new NotNode(inner.Compile(schema));

    public override string ToString() => $"not {inner}";
}

/// <summary>Literal conversions and the type errors they raise.</summary>
internal static class FilterValues
{
    public static string Symbol(FilterOperator op) => op switch
    {
        FilterOperator.Equal => "==",
        FilterOperator.NotEqual => "!=",
        FilterOperator.Less => "<",
        FilterOperator.LessOrEqual => "<=",
        FilterOperator.Greater => ">",
        _ => ">=",
    };

    public static ArgumentException Mismatch(FieldDefinition field, object value, string? hint = null)
        => new($"field '{field.Name}' is {field.TypeName}; it cannot be compared with {Filter.Literal(value)} ({value.GetType().Name}){(hint == null ? "" : ": " + hint)}.");

    public static long ToLong(FieldDefinition field, object value, FilterOperator op)
    {
        switch (field.Type, value)
        {
            case (FieldType.Long, long v): return v;
            case (FieldType.Long, int v): return v;
            case (FieldType.Bool, bool v) when op is FilterOperator.Equal or FilterOperator.NotEqual: return v ? 1 : 0;
            case (FieldType.Date, DateTimeOffset v): return v.UtcTicks;
            case (FieldType.Date, DateTime v): return new DateTimeOffset(v.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(v, DateTimeKind.Utc) : v).UtcTicks;
            case (FieldType.Date, string s):
                if (DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)) return parsed.UtcTicks;
                throw new ArgumentException($"field '{field.Name}' is date; '{s}' is not a date (use ISO 8601, e.g. '2024-05-01' or '2024-05-01T12:00:00Z').");
            default: throw Mismatch(field, value);
        }
    }

    public static double ToDouble(FieldDefinition field, object value) => value switch
    {
        double v => v,
        long v => v,
        int v => v,
        _ => throw Mismatch(field, value),
    };

    public static string ToStringValue(FieldDefinition field, object value) => value as string ?? throw Mismatch(field, value);

    public static bool Holds(FilterOperator op, int comparison) => op switch
    {
        FilterOperator.Equal => comparison == 0,
        FilterOperator.NotEqual => comparison != 0,
        FilterOperator.Less => comparison < 0,
        FilterOperator.LessOrEqual => comparison <= 0,
        FilterOperator.Greater => comparison > 0,
        _ => comparison >= 0,
    };
}

internal sealed class LongCompare(int field, FilterOperator op, long value) : FilterNode
{
    /// <summary>One loop over the column: every operator is "value within [low, high]", or outside it for !=.</summary>
    public override void MatchAll(FieldColumns? columns, ReadOnlySpan<long> ids, Span<ulong> bits)
    {
        if (columns == null || field >= columns.FieldCount) return;
        (long low, long high) = op switch
        {
            FilterOperator.Less => value == long.MinValue ? (1L, 0L) : (long.MinValue, value - 1),
            FilterOperator.LessOrEqual => (long.MinValue, value),
            FilterOperator.Greater => value == long.MaxValue ? (1L, 0L) : (value + 1, long.MaxValue),
            FilterOperator.GreaterOrEqual => (value, long.MaxValue),
            _ => (value, value),
        };
        if (low > high) return; // nothing is below long.MinValue or above long.MaxValue
        bool outside = op == FilterOperator.NotEqual;
        ulong width = (ulong)(high - low);
        var present = columns.PresentColumn(field);
        var numbers = columns.LongColumn(field);
        int n = ids.Length;
        for (int first = 0; first < n; first += 64)
        {
            int end = Math.Min(64, n - first);
            ulong word = 0;
            for (int b = 0; b < end; b++)
            {
                int i = first + b;
                bool pass = present[i] != 0 && ((ulong)(numbers[i] - low) <= width) != outside;
                word |= (pass ? 1UL : 0UL) << b;
            }
            bits[first >> 6] |= word;
        }
    }

    public override bool Match(FieldColumns? columns, int index, long id)
        => columns != null && columns.IsPresent(field, index) && FilterValues.Holds(op, columns.Long(field, index).CompareTo(value));

    public override bool AppendKey(StringBuilder key)
    {
        key.Append("L(").Append(field).Append(',').Append((int)op).Append(',').Append(value).Append(')');
        return true;
    }
}

internal sealed class DoubleCompare(int field, FilterOperator op, double value) : FilterNode
{
    public override bool Match(FieldColumns? columns, int index, long id)
        => columns != null && columns.IsPresent(field, index) && FilterValues.Holds(op, columns.Double(field, index).CompareTo(value));

    public override bool AppendKey(StringBuilder key)
    {
        key.Append("D(").Append(field).Append(',').Append((int)op).Append(',').Append(BitConverter.DoubleToInt64Bits(value)).Append(')');
        return true;
    }
}

internal sealed class StringCompare(int field, FilterOperator op, string value) : FilterNode
{
    public override bool Match(FieldColumns? columns, int index, long id)
        => columns != null && columns.IsPresent(field, index)
           && FilterValues.Holds(op, string.CompareOrdinal((string)columns.Object(field, index)!, value));

    public override bool AppendKey(StringBuilder key)
    {
        key.Append("S(").Append(field).Append(',').Append((int)op).Append(',');
        AppendText(key, value);
        key.Append(')');
        return true;
    }
}

internal sealed class NullNode(int field, bool isNull) : FilterNode
{
    public override bool Match(FieldColumns? columns, int index, long id)
        => (columns != null && columns.IsPresent(field, index)) != isNull;

    public override bool AppendKey(StringBuilder key)
    {
        key.Append("N(").Append(field).Append(',').Append(isNull ? 1 : 0).Append(')');
        return true;
    }
}

internal sealed class TagsNode(int field, string[] tags) : FilterNode
{
    public override bool Match(FieldColumns? columns, int index, long id)
    {
        if (columns == null || !columns.IsPresent(field, index)) return false;
        var held = (string[])columns.Object(field, index)!;
        foreach (var tag in held)
            foreach (var wanted in tags)
                if (string.Equals(tag, wanted, StringComparison.Ordinal)) return true;
        return false;
    }

    public override bool AppendKey(StringBuilder key)
    {
        key.Append("T(").Append(field);
        foreach (var tag in tags)
        {
            key.Append(',');
            AppendText(key, tag);
        }
        key.Append(')');
        return true;
    }
}

internal sealed class IdNode(HashSet<long>? ids, Func<long, bool>? predicate) : FilterNode
{
    public override bool Match(FieldColumns? columns, int index, long id) => ids != null ? ids.Contains(id) : predicate!(id);

    public override bool AppendKey(StringBuilder key)
    {
        if (ids == null) return false; // a delegate may answer differently from one search to the next
        var sorted = new long[ids.Count];
        ids.CopyTo(sorted);
        Array.Sort(sorted);
        key.Append("I(").AppendJoin(',', sorted).Append(')');
        return true;
    }
}

internal sealed class AnyNode(FilterNode[] nodes) : FilterNode
{
    public override void MatchAll(FieldColumns? columns, ReadOnlySpan<long> ids, Span<ulong> bits)
    {
        foreach (var node in nodes) node.MatchAll(columns, ids, bits);
    }

    public override bool Match(FieldColumns? columns, int index, long id)
    {
        foreach (var node in nodes)
            if (node.Match(columns, index, id)) return true;
        return false;
    }

    public override bool AppendKey(StringBuilder key)
    {
        key.Append("A(");
        foreach (var node in nodes)
        {
            if (!node.AppendKey(key)) return false;
            key.Append(',');
        }
        key.Append(')');
        return true;
    }
}

internal sealed class LogicalNode(bool and, FilterNode left, FilterNode right) : FilterNode
{
    public override void MatchAll(FieldColumns? columns, ReadOnlySpan<long> ids, Span<ulong> bits)
    {
        if (!and)
        {
            left.MatchAll(columns, ids, bits);
            right.MatchAll(columns, ids, bits);
            return;
        }
        WithTemporary(bits.Length, columns, ids, left, bits, and: true, right);
    }

    public override bool Match(FieldColumns? columns, int index, long id)
        => and ? left.Match(columns, index, id) && right.Match(columns, index, id) : left.Match(columns, index, id) || right.Match(columns, index, id);

    public override bool AppendKey(StringBuilder key)
    {
        key.Append(and ? "&(" : "|(");
        if (!left.AppendKey(key)) return false;
        key.Append(',');
        if (!right.AppendKey(key)) return false;
        key.Append(')');
        return true;
    }
}

internal sealed class NotNode(FilterNode inner) : FilterNode
{
    public override void MatchAll(FieldColumns? columns, ReadOnlySpan<long> ids, Span<ulong> bits)
        => WithTemporary(bits.Length, columns, ids, inner, bits, and: false, second: null);

    public override bool Match(FieldColumns? columns, int index, long id) => !inner.Match(columns, index, id);

    public override bool AppendKey(StringBuilder key)
    {
        key.Append("!(");
        if (!inner.AppendKey(key)) return false;
        key.Append(')');
        return true;
    }
}
