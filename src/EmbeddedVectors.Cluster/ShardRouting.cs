using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using EmbeddedVectors.VectorData;

namespace EmbeddedVectors.Cluster;

/// <summary>
/// Which shard holds a key, and how a key travels to it. The shard is XxHash64 (seed <see cref="RoutingSeed"/>) of the
/// key's bytes (a long's 8 little-endian bytes, an int as a long, a Guid's 16 bytes, a string's UTF-8) modulo the shard
/// count: stable across processes, machines and .NET versions, unlike <c>GetHashCode</c>.
/// </summary>
internal static class ShardRouting
{
    /// <summary>A seed apart from the connector's home-id hash (seed 0), so a shard's keys spread over all ids.</summary>
    private const long RoutingSeed = 0x45565368617264; // "EVShard"

    public static int ShardOf(object key, int shardCount)
    {
        ulong hash;
        switch (key)
        {
            case long or int:
                Span<byte> number = stackalloc byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(number, Convert.ToInt64(key, System.Globalization.CultureInfo.InvariantCulture));
                hash = XxHash64.HashToUInt64(number, RoutingSeed);
                break;
            case Guid guid:
                Span<byte> bytes = stackalloc byte[16];
                guid.TryWriteBytes(bytes);
                hash = XxHash64.HashToUInt64(bytes, RoutingSeed);
                break;
            case string text:
                hash = XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(text), RoutingSeed);
                break;
            default:
                throw new ArgumentException($"{key.GetType().Name} is not a key type of a clustered collection.");
        }
        return (int)(hash % (ulong)shardCount);
    }

    /// <summary>Keys grouped by shard, each group with the positions it came from in <paramref name="keys"/>.</summary>
    public static Dictionary<int, (List<int> Positions, ShardKeys Keys)> Group(IReadOnlyList<object> keys, int shardCount, bool hashed)
    {
        var positions = new Dictionary<int, List<int>>();
        for (int i = 0; i < keys.Count; i++)
        {
            int shard = ShardOf(keys[i], shardCount);
            if (!positions.TryGetValue(shard, out var list)) positions[shard] = list = [];
            list.Add(i);
        }
        var groups = new Dictionary<int, (List<int>, ShardKeys)>();
        foreach (var (shard, list) in positions)
        {
            var idsOrHomes = new long[list.Count];
            var texts = hashed ? new string[list.Count] : null;
            for (int j = 0; j < list.Count; j++)
            {
                var key = keys[list[j]];
                if (hashed)
                {
                    idsOrHomes[j] = KeyIds.Home(key);
                    texts![j] = KeyIds.KeyText(key);
                }
                else idsOrHomes[j] = Convert.ToInt64(key, System.Globalization.CultureInfo.InvariantCulture);
            }
            groups[shard] = (list, new ShardKeys(idsOrHomes, texts));
        }
        return groups;
    }

    /// <summary>
    /// The silo of each shard of a new collection: the active silos in name order, starting at one chosen by the
    /// collection name's hash (so that collections do not all start on the same silo), one shard each in turn.
    /// </summary>
    public static string[] AssignSilos(string collection, int shardCount, IReadOnlyList<string> activeSilos)
    {
        if (activeSilos.Count == 0) throw new InvalidOperationException("The cluster has no active silo to hold shards.");
        var names = activeSilos.Order(StringComparer.Ordinal).ToArray();
        int start = (int)(XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(collection), RoutingSeed) % (ulong)names.Length);
        var silos = new string[shardCount];
        for (int s = 0; s < shardCount; s++) silos[s] = names[(start + s) % names.Length];
        return silos;
    }
}
