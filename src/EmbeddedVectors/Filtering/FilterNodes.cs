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
    internal override FilterNode Compile(IReadOnlyList<FieldDefinition> schema) => new NullNode(Resolve(schema, name), isNull);

    public override string ToString() => isNull ? $"{name} is null" : $"{name} is not null";
}

internal sealed class TagsContainFilter(string name, string[] tags) : Filter
{
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
    internal override FilterNode Compile(IReadOnlyList<FieldDefinition> schema) => new IdNode(ids == null ? null : [.. ids], predicate);

    public override string ToString() => ids == null ? "id matches a predicate" : $"id in ({string.Join(", ", ids)})";
}

internal sealed class LogicalFilter(bool and, Filter left, Filter right) : Filter
{
    internal override FilterNode Compile(IReadOnlyList<FieldDefinition> schema)
        => new LogicalNode(and, left.Compile(schema), right.Compile(schema));

    public override string ToString() => $"({left} {(and ? "and" : "or")} {right})";
}

internal sealed class NotFilter(Filter inner) : Filter
{
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
    public override bool Match(FieldColumns? columns, int index, long id) => !inner.Match(columns, index, id);

    public override bool AppendKey(StringBuilder key)
    {
        key.Append("!(");
        if (!inner.AppendKey(key)) return false;
        key.Append(')');
        return true;
    }
}
