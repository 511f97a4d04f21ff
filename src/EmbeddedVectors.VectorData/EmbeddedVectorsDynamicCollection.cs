namespace EmbeddedVectors.VectorData;

/// <summary>
/// A collection of dynamic records (<c>Dictionary&lt;string, object?&gt;</c> by property name), described by the
/// <see cref="Microsoft.Extensions.VectorData.VectorStoreCollectionDefinition"/> in the options, which is required.
/// Keys are passed as object and must be of the key property's type (long, int, Guid or string).
/// </summary>
public sealed class EmbeddedVectorsDynamicCollection : EmbeddedVectorsCollection<object, Dictionary<string, object?>>
{
    /// <summary>A stand-alone dynamic collection in <paramref name="rootDirectory"/>/<paramref name="name"/>.</summary>
    /// <param name="rootDirectory">The directory holding collections.</param>
    /// <param name="name">The collection name.</param>
    /// <param name="options">Options; <see cref="Microsoft.Extensions.VectorData.VectorStoreCollectionOptions.Definition"/> is required.</param>
    public EmbeddedVectorsDynamicCollection(string rootDirectory, string name, EmbeddedVectorsCollectionOptions options)
        : base(rootDirectory, name, options)
    {
    }

    internal EmbeddedVectorsDynamicCollection(StoreRegistry registry, string rootDirectory, string name, EmbeddedVectorsCollectionOptions options)
        : base(registry, ownsRegistry: false, rootDirectory, name, options, null)
    {
    }
}
