using EmbeddedVectors.Embeddings;
using Microsoft.Extensions.VectorData;

namespace EmbeddedVectors.Samples.PackageSearch;

/// <summary>One Debian package as the app stores it. The attributes tell the VectorData connector how to map it.</summary>
public sealed class PackageRecord
{
    /// <summary>The package name: the record's key (a string key; the connector maps it to the store's id).</summary>
    [VectorStoreKey]
    public string Name { get; set; } = "";

    /// <summary>Debian's section (<c>games</c>, <c>editors</c>, <c>libs</c>…), null when unknown. Indexed, so searches can filter on it.</summary>
    [VectorStoreData(IsIndexed = true)]
    public string? Section { get; set; }

    /// <summary>The one-line summary shown with each hit.</summary>
    [VectorStoreData]
    public string Summary { get; set; } = "";

    /// <summary>
    /// The full description. A <c>string</c> vector property: on upsert the collection's embedding generator turns it
    /// into a 384-dimensional vector; the text itself is kept and comes back with the record.
    /// </summary>
    [VectorStoreVector(MiniLmEmbeddingGenerator.Dimension, DistanceFunction = DistanceFunction.CosineSimilarity)]
    public string Description { get; set; } = "";
}
