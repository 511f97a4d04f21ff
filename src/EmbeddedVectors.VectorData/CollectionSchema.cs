using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;

namespace EmbeddedVectors.VectorData;

/// <summary>
/// How one collection's record model maps onto a store: the vector property's dimension, distance function and
/// index kind (the store's shape), the indexed data properties (store fields) and the key (an id, or a hashed id
/// for Guid and string keys). Built, and every unsupported choice rejected, when the collection object is made.
/// </summary>
internal sealed class CollectionSchema
{
    /// <summary>The store field holding a Guid or string key, so filters can name the key.</summary>
    internal const string KeyFieldName = "_key";

    private readonly Dictionary<string, FieldDefinition> _fieldsByModelName = new(StringComparer.Ordinal);

    public CollectionSchema(CollectionModel model, string collectionName)
    {
        Model = model;
        CollectionName = collectionName;
        Key = model.KeyProperty;
        Vector = model.VectorProperty;
        KeyIsHashed = Key.Type == typeof(Guid) || Key.Type == typeof(string);
        GeneratesEmbeddings = !ModelBuilder.IsNativeVectorType(Vector.Type, out _);
        if (Vector.Dimensions < 1)
            throw new ArgumentException($"Vector property '{Vector.ModelName}' of collection '{collectionName}' has {Vector.Dimensions} dimensions; give at least 1.");
        DistanceFunction = Vector.DistanceFunction ?? Microsoft.Extensions.VectorData.DistanceFunction.CosineSimilarity;
        Metric = MetricOf(DistanceFunction, Vector.ModelName);
        IndexKind = NormaliseIndexKind(Vector.IndexKind, Vector.ModelName);

        var fields = new List<FieldDefinition>();
        if (KeyIsHashed) fields.Add(new FieldDefinition(KeyFieldName, FieldType.String));
        foreach (var property in model.DataProperties)
        {
            if (!property.IsIndexed) continue;
            var type = FieldTypeOf(property.Type)
                ?? throw new NotSupportedException($"Data property '{property.ModelName}' is {property.Type.Name} and indexed; EmbeddedVectors indexes string, Guid, integer, floating-point, decimal, bool, DateTime, DateTimeOffset and string collections (tags). Store it unindexed, or change its type.");
            if (!IsValidFieldName(property.StorageName) || property.StorageName == KeyFieldName)
                throw new ArgumentException($"Indexed data property '{property.ModelName}' has storage name '{property.StorageName}', which cannot name a store field: use letters, digits and '_', not starting with a digit, and not 'id' or '{KeyFieldName}'.");
            var field = new FieldDefinition(property.StorageName, type);
            fields.Add(field);
            _fieldsByModelName[property.ModelName] = field;
        }
        Fields = fields;
    }

    public CollectionModel Model { get; }
    public string CollectionName { get; }
    public KeyPropertyModel Key { get; }
    public VectorPropertyModel Vector { get; }

    /// <summary>Guid and string keys become ids by hashing (see <see cref="KeyIds"/>); long and int keys are the id.</summary>
    public bool KeyIsHashed { get; }

    /// <summary>The vector property holds input for an embedding generator (e.g. a string), not a vector.</summary>
    public bool GeneratesEmbeddings { get; }

    public string DistanceFunction { get; }
    public Metric Metric { get; }

    /// <summary><see cref="Microsoft.Extensions.VectorData.IndexKind.Flat"/>, <see cref="Microsoft.Extensions.VectorData.IndexKind.IvfFlat"/> or <see cref="EmbeddedVectorsIndexKind.IvfPq"/>.</summary>
    public string IndexKind { get; }

    /// <summary>The store fields: the key field for hashed keys, then one per indexed data property.</summary>
    public IReadOnlyList<FieldDefinition> Fields { get; }

    /// <summary>The store field of an indexed data property, or null when the property is not indexed.</summary>
    public FieldDefinition? FieldOf(PropertyModel property) => _fieldsByModelName.GetValueOrDefault(property.ModelName);

    /// <summary>What the store is created with.</summary>
    public EmbeddedVectorStoreOptions StoreOptions(EmbeddedVectorsIndexSettings settings)
    {
        int dimension = Vector.Dimensions;
        var options = new EmbeddedVectorStoreOptions
        {
            Dimension = dimension,
            Metric = Metric,
            Fields = Fields,
            Rows = settings.Rows,
            StoreVectors = true,
        };
        return IndexKind switch
        {
            // One cell and a threshold never reached: the store keeps every vector in its exactly searched buffer.
            Microsoft.Extensions.VectorData.IndexKind.Flat => options with { NList = 1, M = 1, TrainingThreshold = int.MaxValue },
            // The store has no uncompressed lists: IvfFlat is IVF with fine codes (2 dimensions a byte) re-ranked exactly.
            Microsoft.Extensions.VectorData.IndexKind.IvfFlat => options with
            {
                NList = settings.NList,
                M = settings.M > 0 ? settings.M : LargestDivisorAtMost(dimension, Math.Max(1, dimension / 2)),
                Codes = VectorCodes.Pq8,
                TrainingThreshold = settings.TrainingThreshold,
            },
            _ => options with
            {
                NList = settings.NList,
                M = settings.M > 0 ? settings.M : settings.Codes == VectorCodes.Pq8 ? LargestDivisorAtMost(dimension, Math.Max(1, dimension / 8)) : 0,
                Codes = settings.Codes,
                TrainingThreshold = settings.TrainingThreshold,
            },
        };
    }

    /// <summary>Exact re-ranking of the shortlist: IvfFlat re-ranks more, since its lists stand for uncompressed ones.</summary>
    public int Rerank(EmbeddedVectorsIndexSettings settings, int k)
        => IndexKind == Microsoft.Extensions.VectorData.IndexKind.IvfFlat ? Math.Max(settings.Rerank, 50 * k) : Math.Max(settings.Rerank, 10 * k);

    /// <summary>The score of a store distance, in the convention of the distance function.</summary>
    public double Score(float distance) => DistanceFunction switch
    {
        Microsoft.Extensions.VectorData.DistanceFunction.CosineSimilarity => 1.0 - distance,
        Microsoft.Extensions.VectorData.DistanceFunction.DotProductSimilarity => -(double)distance,
        Microsoft.Extensions.VectorData.DistanceFunction.EuclideanDistance => Math.Sqrt(Math.Max(0, distance)),
        _ => distance, // CosineDistance (1 − cos), NegativeDotProductSimilarity (−⟨q, x⟩), EuclideanSquaredDistance
    };

    /// <summary>Whether a score passes <c>ScoreThreshold</c>: at least it for similarities, at most it for distances.</summary>
    public bool Passes(double score, double threshold) => HigherIsCloser ? score >= threshold : score <= threshold;

    private bool HigherIsCloser => DistanceFunction is Microsoft.Extensions.VectorData.DistanceFunction.CosineSimilarity
        or Microsoft.Extensions.VectorData.DistanceFunction.DotProductSimilarity;

    /// <summary>
    /// Checks that an existing store fits this model (opened by another record type or an older version of it). A
    /// data field the model declares filterable and the store lacks is added to a writable store (entries stored
    /// before hold null in it, as with a property added to the record class); a field whose type differs is an error.
    /// </summary>
    public void CheckExisting(EmbeddedVectorStore store)
    {
        if (store.Dimension != Vector.Dimensions)
            throw Mismatch($"its vectors have {store.Dimension} dimensions, the record's vector property '{Vector.ModelName}' {Vector.Dimensions}");
        if (store.Metric != Metric)
            throw Mismatch($"it was created for the {store.Metric} metric, the record asks for {DistanceFunction}");
        // Two collection objects may first use the store at once and both find a field missing: the second one's
        // AddFields then meets it declared, and looks again.
        for (int attempt = 1; ; attempt++)
        {
            var missing = new List<FieldDefinition>();
            foreach (var field in Fields)
            {
                var existing = store.Fields.FirstOrDefault(f => f.Name == field.Name);
                if (existing == null) missing.Add(field);
                else if (existing.Type != field.Type)
                    throw Mismatch($"its field '{field.Name}' is {existing.TypeName}, the record's is {field.TypeName} (a field's type cannot change)");
            }
            if (missing.Count == 0) return;
            if (store.IsReadOnly)
                throw Mismatch($"it has no field {string.Join(", ", missing.Select(f => $"'{f.Name}' ({f.TypeName})"))}; open it writable once to add {(missing.Count == 1 ? "it" : "them")}");
            try
            {
                store.AddFields(missing);
                return;
            }
            catch (ArgumentException) when (attempt < 3 && missing.Any(f => store.Fields.Any(declared => declared.Name == f.Name)))
            {
            }
        }
    }

    private VectorStoreException Mismatch(string why) => new($"Collection '{CollectionName}' exists but does not fit this record definition: {why}.")
    {
        VectorStoreSystemName = EmbeddedVectorsVectorStore.SystemName,
        CollectionName = CollectionName,
    };

    internal static Metric MetricOf(string distanceFunction, string property) => distanceFunction switch
    {
        Microsoft.Extensions.VectorData.DistanceFunction.CosineSimilarity or Microsoft.Extensions.VectorData.DistanceFunction.CosineDistance => Metric.Cosine,
        Microsoft.Extensions.VectorData.DistanceFunction.DotProductSimilarity or Microsoft.Extensions.VectorData.DistanceFunction.NegativeDotProductSimilarity => Metric.InnerProduct,
        Microsoft.Extensions.VectorData.DistanceFunction.EuclideanSquaredDistance or Microsoft.Extensions.VectorData.DistanceFunction.EuclideanDistance => Metric.L2,
        _ => throw new NotSupportedException($"Distance function '{distanceFunction}' of vector property '{property}' is not supported by EmbeddedVectors; use CosineSimilarity, CosineDistance, DotProductSimilarity, NegativeDotProductSimilarity, EuclideanSquaredDistance or EuclideanDistance."),
    };

    internal static string NormaliseIndexKind(string? indexKind, string property) => indexKind switch
    {
        null or "" or Microsoft.Extensions.VectorData.IndexKind.Dynamic or EmbeddedVectorsIndexKind.IvfPq => EmbeddedVectorsIndexKind.IvfPq,
        Microsoft.Extensions.VectorData.IndexKind.Flat => Microsoft.Extensions.VectorData.IndexKind.Flat,
        Microsoft.Extensions.VectorData.IndexKind.IvfFlat => Microsoft.Extensions.VectorData.IndexKind.IvfFlat,
        _ => throw new NotSupportedException($"Index kind '{indexKind}' of vector property '{property}' is not supported by EmbeddedVectors; use Flat, IvfFlat, Dynamic or '{EmbeddedVectorsIndexKind.IvfPq}' (the default)."),
    };

    /// <summary>The store field type of a data property type, or null when it cannot be indexed.</summary>
    internal static FieldType? FieldTypeOf(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string) || type == typeof(Guid)) return FieldType.String;
        if (type == typeof(long) || type == typeof(int) || type == typeof(short) || type == typeof(sbyte) || type == typeof(byte)
            || type == typeof(ushort) || type == typeof(uint)) return FieldType.Long;
        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal)) return FieldType.Double;
        if (type == typeof(bool)) return FieldType.Bool;
        if (type == typeof(DateTimeOffset) || type == typeof(DateTime)) return FieldType.Date;
        if (type == typeof(string[]) || type == typeof(List<string>) || type == typeof(IList<string>) || type == typeof(IReadOnlyList<string>)
            || type == typeof(ICollection<string>) || type == typeof(IEnumerable<string>) || type == typeof(IReadOnlyCollection<string>)) return FieldType.Tags;
        return null;
    }

    /// <summary>The store's rule for field names (checked again by the store when it is created).</summary>
    private static bool IsValidFieldName(string name)
    {
        if (string.IsNullOrEmpty(name) || char.IsAsciiDigit(name[0]) || name == "id") return false;
        foreach (char c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_')) return false;
        return true;
    }

    private static int LargestDivisorAtMost(int dimension, int limit)
    {
        for (int m = Math.Min(limit, dimension); m > 1; m--)
            if (dimension % m == 0) return m;
        return 1;
    }
}
