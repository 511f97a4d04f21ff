namespace EmbeddedVectors.Cluster;

// The messages between the cluster client and its shard grains. Orleans copies them between silos, so they hold plain
// data only: enums of the core library travel as ints, field values and filter literals as the store's own scalar
// types (long, double, string, bool, DateTimeOffset, string[]).

/// <summary>Where a collection's shards live: the shard count (fixed at creation) and the silo holding each shard.</summary>
[GenerateSerializer, Immutable]
internal sealed record CollectionLayout([property: Id(0)] string Collection, [property: Id(1)] string[] ShardSilos)
{
    public int ShardCount => ShardSilos.Length;

    /// <summary>The grain key of shard <paramref name="shard"/>: collection, shard and owning silo (which placement reads).</summary>
    public string ShardKey(int shard) => ShardPlacement.ShardKey(Collection, shard, ShardSilos[shard]);
}

/// <summary>What a shard's store is created with (the connector's <c>CollectionSchema.StoreOptions</c>, as plain data).</summary>
[GenerateSerializer, Immutable]
internal sealed record ShardStoreShape(
    [property: Id(0)] int Dimension,
    [property: Id(1)] int Metric,
    [property: Id(2)] string[] FieldNames,
    [property: Id(3)] int[] FieldTypes,
    [property: Id(4)] int Rows,
    [property: Id(5)] int NList,
    [property: Id(6)] int M,
    [property: Id(7)] int Codes,
    [property: Id(8)] int TrainingThreshold)
{
    public static ShardStoreShape From(EmbeddedVectorStoreOptions options) => new(
        options.Dimension, (int)options.Metric,
        [.. options.Fields.Select(f => f.Name)], [.. options.Fields.Select(f => (int)f.Type)],
        (int)options.Rows, options.NList, options.M, (int)options.Codes, options.TrainingThreshold);

    public FieldDefinition[] Fields()
    {
        var fields = new FieldDefinition[FieldNames.Length];
        for (int i = 0; i < fields.Length; i++) fields[i] = new FieldDefinition(FieldNames[i], (FieldType)FieldTypes[i]);
        return fields;
    }

    public EmbeddedVectorStoreOptions StoreOptions() => new()
    {
        Dimension = Dimension,
        Metric = (Metric)Metric,
        Fields = Fields(),
        Rows = (RowEncoding)Rows,
        StoreVectors = true,
        NList = NList,
        M = M,
        Codes = (VectorCodes)Codes,
        TrainingThreshold = TrainingThreshold,
    };
}

/// <summary>
/// Keys as a shard receives them: integer keys are the ids; Guid and string keys come as their home id and text, and
/// the shard finds their ids (it holds the store the probe sequence reads).
/// </summary>
[GenerateSerializer, Immutable]
internal sealed record ShardKeys([property: Id(0)] long[] IdsOrHomes, [property: Id(1)] string[]? KeyTexts)
{
    public bool Hashed => KeyTexts != null;
    public int Count => IdsOrHomes.Length;
}

/// <summary>Entries to upsert into one shard: keys, vectors (row-major), payloads, and field values by field name.</summary>
[GenerateSerializer, Immutable]
internal sealed record ShardWrite(
    [property: Id(0)] ShardKeys Keys,
    [property: Id(1)] float[] Vectors,
    [property: Id(2)] byte[][] Payloads,
    [property: Id(3)] string[] FieldNames,
    [property: Id(4)] object?[]?[] FieldRows);

/// <summary>One search on one shard: the shard returns its best <see cref="K"/> hits with their entries.</summary>
[GenerateSerializer, Immutable]
internal sealed record ShardSearch(
    [property: Id(0)] float[] Query,
    [property: Id(1)] int K,
    [property: Id(2)] int NProbe,
    [property: Id(3)] int Rerank,
    [property: Id(4)] FilterWire? Where,
    [property: Id(5)] bool IncludeVectors);

/// <summary>A stored entry as a shard returns it (the vector only when asked for).</summary>
[GenerateSerializer, Immutable]
internal sealed record ShardEntry([property: Id(0)] long Id, [property: Id(1)] float[]? Vector, [property: Id(2)] byte[] Payload)
{
    public StoredEntry ToStoredEntry() => new(Id, Vector ?? [], Payload);
}

/// <summary>One hit of a shard search, with its entry.</summary>
[GenerateSerializer, Immutable]
internal sealed record ShardHit([property: Id(0)] float Distance, [property: Id(1)] ShardEntry Entry);
