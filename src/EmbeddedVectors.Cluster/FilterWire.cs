namespace EmbeddedVectors.Cluster;

/// <summary>
/// A store <see cref="Filter"/> as plain data, so that a search's filter reaches every shard: the client translates
/// the LINQ filter once (with the connector's translator) and each shard rebuilds the same filter. A filter holding a
/// delegate (<c>Filter.Id(predicate)</c>) cannot travel and is refused with a clear error.
/// </summary>
[GenerateSerializer, Immutable]
internal sealed record FilterWire(
    [property: Id(0)] FilterWireKind Kind,
    [property: Id(1)] string? Name = null,
    [property: Id(2)] int Operator = 0,
    [property: Id(3)] object? Value = null,
    [property: Id(4)] object[]? Values = null,
    [property: Id(5)] long[]? Ids = null,
    [property: Id(6)] FilterWire? Left = null,
    [property: Id(7)] FilterWire? Right = null,
    [property: Id(8)] bool Flag = false)
{
    /// <summary>The wire form of <paramref name="filter"/> (null stays null).</summary>
    /// <exception cref="NotSupportedException">The filter holds a delegate.</exception>
    public static FilterWire? From(Filter? filter) => filter switch
    {
        null => null,
        CompareFilter compare => new(FilterWireKind.Compare, compare.Name, (int)compare.Operator, compare.Value),
        InFilter inFilter => new(FilterWireKind.In, inFilter.Name, Values: inFilter.Values),
        NullFilter nullFilter => new(FilterWireKind.Null, nullFilter.Name, Flag: nullFilter.IsNull),
        TagsContainFilter tags => new(FilterWireKind.Tags, tags.Name, Values: tags.TagValues),
        IdFilter { HasPredicate: false } ids => new(FilterWireKind.Ids, Ids: ids.Ids),
        IdFilter => throw new NotSupportedException(
            "This filter tests ids with a delegate (Filter.Id(predicate)), which cannot be sent to a clustered collection's shards; compare ids with Filter.Id(op, value) or list them."),
        IdCompareFilter compare => new(FilterWireKind.IdCompare, Operator: (int)compare.Operator, Ids: [compare.Value]),
        LogicalFilter logical => new(FilterWireKind.Logical, Left: From(logical.Left), Right: From(logical.Right), Flag: logical.IsAnd),
        NotFilter not => new(FilterWireKind.Not, Left: From(not.Inner)),
        _ => throw new NotSupportedException($"Filter '{filter}' ({filter.GetType().Name}) has no wire form."),
    };

    /// <summary>The store filter this describes.</summary>
    public Filter ToFilter() => Kind switch
    {
        FilterWireKind.Compare => Filter.Field(Name!).Compare((FilterOperator)Operator, Value!),
        FilterWireKind.In => Filter.Field(Name!).In(Values!),
        FilterWireKind.Null => Flag ? Filter.Field(Name!).IsNull() : Filter.Field(Name!).IsNotNull(),
        FilterWireKind.Tags => Filter.Tags(Name!).ContainsAny([.. Values!.Cast<string>()]),
        FilterWireKind.Ids => Filter.Id(Ids!),
        FilterWireKind.IdCompare => Filter.Id((FilterOperator)Operator, Ids![0]),
        FilterWireKind.Logical => Flag ? Left!.ToFilter() & Right!.ToFilter() : Left!.ToFilter() | Right!.ToFilter(),
        FilterWireKind.Not => !Left!.ToFilter(),
        _ => throw new InvalidDataException($"Unknown filter kind {Kind}."),
    };
}

/// <summary>The node kinds of a <see cref="FilterWire"/>.</summary>
[GenerateSerializer]
internal enum FilterWireKind
{
    Compare,
    In,
    Null,
    Tags,
    Ids,
    Logical,
    Not,
    IdCompare,
}
