using EmbeddedVectors.VectorData;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers EmbeddedVectors as the <see cref="VectorStore"/> (and collections) of an app.</summary>
public static class EmbeddedVectorsServiceCollectionExtensions
{
    /// <summary>
    /// Registers an <see cref="EmbeddedVectorsVectorStore"/> over <paramref name="directory"/> as <see cref="VectorStore"/>
    /// (a singleton by default: it holds the open stores). With no embedding generator in <paramref name="options"/>,
    /// an <see cref="IEmbeddingGenerator"/> registered in the container is used, if any.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="directory">The directory whose subdirectories are the collections.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <param name="lifetime">The lifetime of the registration.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddEmbeddedVectorStore(this IServiceCollection services, string directory,
        EmbeddedVectorsVectorStoreOptions? options = null, ServiceLifetime lifetime = ServiceLifetime.Singleton)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        services.Add(new ServiceDescriptor(typeof(EmbeddedVectorsVectorStore), provider => new EmbeddedVectorsVectorStore(directory, new EmbeddedVectorsVectorStoreOptions
        {
            EmbeddingGenerator = options?.EmbeddingGenerator ?? provider.GetService(typeof(IEmbeddingGenerator)) as IEmbeddingGenerator,
            Index = options?.Index ?? new EmbeddedVectorsIndexSettings(),
            JsonSerializerOptions = options?.JsonSerializerOptions,
        }), lifetime));
        services.Add(new ServiceDescriptor(typeof(VectorStore), provider => provider.GetService(typeof(EmbeddedVectorsVectorStore))!, lifetime));
        return services;
    }

    /// <summary>
    /// Registers collection <paramref name="name"/> of the <see cref="VectorStore"/> registered by
    /// <see cref="AddEmbeddedVectorStore"/> as <see cref="VectorStoreCollection{TKey, TRecord}"/> and
    /// <see cref="IVectorSearchable{TRecord}"/>.
    /// </summary>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TRecord">The record type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The collection name.</param>
    /// <param name="lifetime">The lifetime of the registration.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddEmbeddedVectorStoreCollection<TKey, TRecord>(this IServiceCollection services, string name,
        ServiceLifetime lifetime = ServiceLifetime.Singleton)
        where TKey : notnull
        where TRecord : class
    {
        ArgumentNullException.ThrowIfNull(services);
        CollectionNames.Validate(name);
        services.Add(new ServiceDescriptor(typeof(VectorStoreCollection<TKey, TRecord>),
            provider => ((EmbeddedVectorsVectorStore?)provider.GetService(typeof(EmbeddedVectorsVectorStore))
                ?? throw new InvalidOperationException("Call AddEmbeddedVectorStore before AddEmbeddedVectorStoreCollection.")).GetCollection<TKey, TRecord>(name),
            lifetime));
        services.Add(new ServiceDescriptor(typeof(IVectorSearchable<TRecord>),
            provider => provider.GetService(typeof(VectorStoreCollection<TKey, TRecord>))!, lifetime));
        return services;
    }

}
