using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace EmbeddedVectors.Cluster;

/// <summary>
/// Placement by owner: a shard grain's key names the silo whose disk holds the shard's files
/// (<c>collection/shard@silo</c>), and a silo's catalog grain is keyed <c>@silo</c>. The director activates such a grain
/// on the active silo of that name and nowhere else: when that silo is down the activation fails, so a shard is never
/// opened empty on another silo (see docs/cluster.md).
/// </summary>
internal static class ShardPlacement
{
    private const char OwnerSeparator = '@';

    public static string ShardKey(string collection, int shard, string silo) => $"{collection}/{shard}{OwnerSeparator}{silo}";

    public static string CatalogKey(string silo) => OwnerSeparator + silo;

    /// <summary>The owning silo named by a grain key.</summary>
    public static string OwnerOf(string key)
    {
        int at = key.LastIndexOf(OwnerSeparator);
        return at >= 0 ? key[(at + 1)..] : throw new ArgumentException($"Grain key '{key}' names no owning silo ('{OwnerSeparator}silo').");
    }

    /// <summary>The collection and shard of a shard grain key.</summary>
    public static (string Collection, int Shard) ShardOf(string key)
    {
        int at = key.LastIndexOf(OwnerSeparator);
        int slash = key.LastIndexOf('/', at);
        if (at < 0 || slash < 0 || !int.TryParse(key.AsSpan(slash + 1, at - slash - 1), out int shard))
            throw new ArgumentException($"'{key}' is not a shard grain key (collection/shard@silo).");
        return (key[..slash], shard);
    }
}

/// <summary>Places a grain on the silo its key names (see <see cref="ShardPlacement"/>).</summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class OwnerSiloPlacement : PlacementStrategy
{
}

/// <summary>Marks a grain class as placed by <see cref="OwnerSiloPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class OwnerSiloPlacementAttribute : PlacementAttribute
{
    /// <summary>The attribute.</summary>
    public OwnerSiloPlacementAttribute() : base(new OwnerSiloPlacement()) { }
}

/// <summary>The director of <see cref="OwnerSiloPlacement"/>: the active silo named by the grain key, or a clear failure.</summary>
internal sealed class OwnerSiloPlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        string key = target.GrainIdentity.Key.ToString() ?? "";
        string owner = ShardPlacement.OwnerOf(key);
        var compatible = context.GetCompatibleSilos(target);
        foreach (var member in membership.CurrentSnapshot.Members.Values)
        {
            if (member.Status == SiloStatus.Active && member.Name == owner && Array.IndexOf(compatible, member.SiloAddress) >= 0)
                return Task.FromResult(member.SiloAddress);
        }
        throw new ShardFilesUnavailableException($"'{key}' lives on silo '{owner}', which is not an active member of the cluster; its files are on that silo's disk, so it is not opened anywhere else.");
    }
}

/// <summary>A shard's files (or a silo's catalog) could not be reached: the silo holding them is down, or they are not on the silo the grain was activated on.</summary>
[GenerateSerializer]
public sealed class ShardFilesUnavailableException : Exception
{
    /// <summary>An exception with a message.</summary>
    /// <param name="message">What is unavailable and why.</param>
    public ShardFilesUnavailableException(string message) : base(message) { }
}
