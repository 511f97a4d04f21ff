using System.Globalization;

namespace EmbeddedVectors;

/// <summary>Comparison operators of a field filter.</summary>
public enum FilterOperator
{
    /// <summary>==</summary>
    Equal,
    /// <summary>!=</summary>
    NotEqual,
    /// <summary>&lt;</summary>
    Less,
    /// <summary>&lt;=</summary>
    LessOrEqual,
    /// <summary>&gt;</summary>
    Greater,
    /// <summary>&gt;=</summary>
    GreaterOrEqual,
}

/// <summary>
/// A predicate over an entry's metadata fields and id, given as <see cref="StoreSearchOptions.Where"/>. Build one
/// from <see cref="Field"/>, <see cref="Tags"/> and <see cref="Id(long[])"/> with comparison operators and
/// <c>&amp;</c>, <c>|</c>, <c>!</c>, or parse the text form with <see cref="Parse"/>:
/// <c>Filter.Field("year") &gt;= 2020 &amp; Filter.Tags("tags").ContainsAny("a", "b")</c> is
/// <c>year &gt;= 2020 and tags contains any ('a', 'b')</c>.
/// </summary>
/// <remarks>
/// A comparison, <c>in</c> or <c>contains</c> on a null (missing) value is false; <c>is null</c> tests for it;
/// <c>not</c> is the complement (so <c>not (year &gt;= 2020)</c> includes entries without a year). Field names and
/// value types are checked against the store's declared fields when the search starts.
/// </remarks>
public abstract class Filter
{
    private protected Filter() { }

    /// <summary>A field to compare.</summary>
    public static FieldFilter Field(string name) => new(name);

    /// <summary>A tags field to test.</summary>
    public static TagsFilter Tags(string name) => new(name);

    /// <summary>Entries whose id is one of <paramref name="ids"/>.</summary>
    public static Filter Id(params long[] ids) => new IdFilter(ids, null);

    /// <summary>Entries whose id compares with <paramref name="value"/> as <paramref name="op"/> says (e.g. id &lt; value).</summary>
    public static Filter Id(FilterOperator op, long value) => new IdCompareFilter(op, value);

    /// <summary>Entries whose id passes <paramref name="predicate"/> (evaluated once per candidate entry).</summary>
    public static Filter Id(Func<long, bool> predicate) => new IdFilter(null, predicate ?? throw new ArgumentNullException(nameof(predicate)));

    /// <summary>Parses the text form (see docs/filters.md).</summary>
    /// <exception cref="FilterSyntaxException">A syntax error; the message and <see cref="FilterSyntaxException.Position"/> say where.</exception>
    public static Filter Parse(string text) => FilterParser.Parse(text);

    /// <summary>Both.</summary>
    public static Filter operator &(Filter left, Filter right) => new LogicalFilter(true, left, right);

    /// <summary>Either.</summary>
    public static Filter operator |(Filter left, Filter right) => new LogicalFilter(false, left, right);

    /// <summary>The complement.</summary>
    public static Filter operator !(Filter filter) => new NotFilter(filter);

    /// <summary>Both (for languages without operators).</summary>
    public Filter And(Filter other) => this & other;

    /// <summary>Either (for languages without operators).</summary>
    public Filter Or(Filter other) => this | other;

    /// <summary>
    /// Checks this filter against a store's declared fields (<see cref="EmbeddedVectorStore.Fields"/>), as every
    /// search with it does first: lets a caller report a mistake once, before searching many queries.
    /// </summary>
    /// <exception cref="ArgumentException">A field is not declared, or a value does not fit its declared type; the message names the field and its type.</exception>
    public void Validate(IReadOnlyList<FieldDefinition> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        Compile(fields);
    }

    /// <summary>Compiles against a schema; throws naming a field that is unknown or of another type.</summary>
    internal abstract FilterNode Compile(IReadOnlyList<FieldDefinition> schema);

    internal static int Resolve(IReadOnlyList<FieldDefinition> schema, string name)
    {
        int index = FieldTypes.IndexOf(schema, name);
        if (index < 0)
        {
            var declared = new List<string>();
            foreach (var field in schema) declared.Add($"{field.Name}:{field.TypeName}");
            throw new ArgumentException($"filter names field '{name}', which this store does not declare (declared: {(declared.Count == 0 ? "none" : string.Join(", ", declared))}).");
        }
        return index;
    }

    internal static string Literal(object value) => value switch
    {
        string s => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'",
        bool b => b ? "true" : "false",
        DateTimeOffset d => "'" + d.ToString("O", CultureInfo.InvariantCulture) + "'",
        double x => x.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}

/// <summary>A scalar field, compared with operators: <c>Filter.Field("year") &gt;= 2020</c>.</summary>
#pragma warning disable CS0660, CS0661 // == builds a filter; equality of the object itself is by reference
public sealed class FieldFilter
#pragma warning restore CS0660, CS0661
{
    internal FieldFilter(string name) => Name = name ?? throw new ArgumentNullException(nameof(name));

    /// <summary>The field's name.</summary>
    public string Name { get; }

    /// <summary>Compares with <paramref name="value"/> (long, int, double, string, bool or DateTimeOffset).</summary>
    public Filter Compare(FilterOperator op, object value) => new CompareFilter(Name, op, value ?? throw new ArgumentNullException(nameof(value)));

    /// <summary>The value is one of <paramref name="values"/>.</summary>
    public Filter In(params object[] values) => new InFilter(Name, values);

    /// <summary>The field has no value.</summary>
    public Filter IsNull() => new NullFilter(Name, true);

    /// <summary>The field has a value.</summary>
    public Filter IsNotNull() => new NullFilter(Name, false);

#pragma warning disable CS1591 // the operators are self-describing
    public static Filter operator ==(FieldFilter f, long v) => f.Compare(FilterOperator.Equal, v);
    public static Filter operator !=(FieldFilter f, long v) => f.Compare(FilterOperator.NotEqual, v);
    public static Filter operator <(FieldFilter f, long v) => f.Compare(FilterOperator.Less, v);
    public static Filter operator <=(FieldFilter f, long v) => f.Compare(FilterOperator.LessOrEqual, v);
    public static Filter operator >(FieldFilter f, long v) => f.Compare(FilterOperator.Greater, v);
    public static Filter operator >=(FieldFilter f, long v) => f.Compare(FilterOperator.GreaterOrEqual, v);
    public static Filter operator ==(FieldFilter f, double v) => f.Compare(FilterOperator.Equal, v);
    public static Filter operator !=(FieldFilter f, double v) => f.Compare(FilterOperator.NotEqual, v);
    public static Filter operator <(FieldFilter f, double v) => f.Compare(FilterOperator.Less, v);
    public static Filter operator <=(FieldFilter f, double v) => f.Compare(FilterOperator.LessOrEqual, v);
    public static Filter operator >(FieldFilter f, double v) => f.Compare(FilterOperator.Greater, v);
    public static Filter operator >=(FieldFilter f, double v) => f.Compare(FilterOperator.GreaterOrEqual, v);
    public static Filter operator ==(FieldFilter f, string v) => f.Compare(FilterOperator.Equal, v);
    public static Filter operator !=(FieldFilter f, string v) => f.Compare(FilterOperator.NotEqual, v);
    public static Filter operator <(FieldFilter f, string v) => f.Compare(FilterOperator.Less, v);
    public static Filter operator <=(FieldFilter f, string v) => f.Compare(FilterOperator.LessOrEqual, v);
    public static Filter operator >(FieldFilter f, string v) => f.Compare(FilterOperator.Greater, v);
    public static Filter operator >=(FieldFilter f, string v) => f.Compare(FilterOperator.GreaterOrEqual, v);
    public static Filter operator ==(FieldFilter f, bool v) => f.Compare(FilterOperator.Equal, v);
    public static Filter operator !=(FieldFilter f, bool v) => f.Compare(FilterOperator.NotEqual, v);
    public static Filter operator ==(FieldFilter f, DateTimeOffset v) => f.Compare(FilterOperator.Equal, v);
    public static Filter operator !=(FieldFilter f, DateTimeOffset v) => f.Compare(FilterOperator.NotEqual, v);
    public static Filter operator <(FieldFilter f, DateTimeOffset v) => f.Compare(FilterOperator.Less, v);
    public static Filter operator <=(FieldFilter f, DateTimeOffset v) => f.Compare(FilterOperator.LessOrEqual, v);
    public static Filter operator >(FieldFilter f, DateTimeOffset v) => f.Compare(FilterOperator.Greater, v);
    public static Filter operator >=(FieldFilter f, DateTimeOffset v) => f.Compare(FilterOperator.GreaterOrEqual, v);
#pragma warning restore CS1591
}

/// <summary>A tags field: <c>Filter.Tags("tags").Contains("a")</c>.</summary>
public sealed class TagsFilter
{
    internal TagsFilter(string name) => Name = name ?? throw new ArgumentNullException(nameof(name));

    /// <summary>The field's name.</summary>
    public string Name { get; }

    /// <summary>The list holds <paramref name="tag"/>.</summary>
    public Filter Contains(string tag) => new TagsContainFilter(Name, [tag]);

    /// <summary>The list holds at least one of <paramref name="tags"/>.</summary>
    public Filter ContainsAny(params string[] tags) => new TagsContainFilter(Name, tags);

    /// <summary>The field has no value.</summary>
    public Filter IsNull() => new NullFilter(Name, true);

    /// <summary>The field has a value.</summary>
    public Filter IsNotNull() => new NullFilter(Name, false);
}

/// <summary>A syntax error in a filter's text; <see cref="Position"/> is the 0-based offset of the problem.</summary>
public sealed class FilterSyntaxException(string message, int position) : FormatException(message)
{
    /// <summary>0-based character offset in the text.</summary>
    public int Position { get; } = position;
}
