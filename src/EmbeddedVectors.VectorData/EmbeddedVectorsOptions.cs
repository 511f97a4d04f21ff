using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace EmbeddedVectors.VectorData;

/// <summary>Options of an <see cref="EmbeddedVectorsVectorStore"/>: what every collection it hands out starts with.</summary>
public sealed class EmbeddedVectorsVectorStoreOptions
{
    /// <summary>The embedding generator for vector properties that have none of their own (e.g. <c>string</c> properties).</summary>
    public IEmbeddingGenerator? EmbeddingGenerator { get; set; }

    /// <summary>Index settings of new collections and search settings of every collection.</summary>
    public EmbeddedVectorsIndexSettings Index { get; set; } = new();

    /// <summary>How data properties are serialised into the payload (default: <see cref="JsonSerializerOptions.Default"/>).</summary>
    public JsonSerializerOptions? JsonSerializerOptions { get; set; }
}

/// <summary>Options of one <see cref="EmbeddedVectorsCollection{TKey, TRecord}"/>.</summary>
public sealed class EmbeddedVectorsCollectionOptions : VectorStoreCollectionOptions
{
    /// <summary>Default options.</summary>
    public EmbeddedVectorsCollectionOptions() { }

    /// <summary>A copy of <paramref name="source"/>.</summary>
    /// <param name="source">The options to copy.</param>
    public EmbeddedVectorsCollectionOptions(EmbeddedVectorsCollectionOptions source) : base(source)
    {
        Index = source.Index;
        JsonSerializerOptions = source.JsonSerializerOptions;
    }

    /// <summary>Index settings used when the collection is created, and search settings (nprobe, re-rank) for this instance.</summary>
    public EmbeddedVectorsIndexSettings Index { get; set; } = new();

    /// <summary>How data properties are serialised into the payload (default: <see cref="JsonSerializerOptions.Default"/>).</summary>
    public JsonSerializerOptions? JsonSerializerOptions { get; set; }
}
