using Microsoft.Extensions.DependencyInjection;

namespace EmbeddedVectors.Cluster;

/// <summary>Makes a silo host EmbeddedVectors shards.</summary>
public static class EmbeddedVectorsSiloBuilderExtensions
{
    /// <summary>
    /// Registers the shard grains' placement (each shard on the silo holding its files) and the silo's data directory.
    /// Give every silo a stable name (<c>SiloOptions.SiloName</c>): shards are placed by it.
    /// </summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="dataRoot">The directory on this silo's local disk holding its shards; null to configure <see cref="EmbeddedVectorsSiloOptions"/> yourself.</param>
    /// <returns>The builder.</returns>
    public static ISiloBuilder AddEmbeddedVectorsShards(this ISiloBuilder builder, string? dataRoot = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (dataRoot != null) builder.Services.Configure<EmbeddedVectorsSiloOptions>(o => o.DataRoot = dataRoot);
        builder.Services.AddSingleton<SiloFiles>();
        builder.AddPlacementDirector<OwnerSiloPlacement, OwnerSiloPlacementDirector>();
        return builder;
    }
}
