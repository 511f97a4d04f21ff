using System.IO.Hashing;
using System.Text;
using Microsoft.Extensions.VectorData;

namespace EmbeddedVectors.VectorData;

/// <summary>
/// Keys as store ids. long and int keys are the id. Guid and string keys are hashed (XxHash64 of the Guid's 16 bytes
/// or the string's UTF-8) to a home id; the key itself is kept in the payload (and the <c>_key</c> field). A key lives
/// at the first id of its probe sequence (home, home + 1, …, <see cref="MaxProbes"/> ids) whose payload holds it; a new
/// key takes the first free id of that sequence. Nothing but the entries is persisted, so the map is exactly as
/// crash-safe as the store, and a lookup reads the home id (one more only after a 64-bit hash collision). Ids are
/// never moved on delete, so a lookup checks every id of the sequence that is occupied rather than stopping at a gap.
/// </summary>
internal static class KeyIds
{
    /// <summary>Ids probed for one key: 16 keys would have to share 16 consecutive 64-bit hashes to exhaust it.</summary>
    public const int MaxProbes = 16;

    /// <summary>The home id of a hashed key.</summary>
    public static long Home(object key)
    {
        switch (key)
        {
            case Guid guid:
                Span<byte> bytes = stackalloc byte[16];
                guid.TryWriteBytes(bytes);
                return (long)XxHash64.HashToUInt64(bytes);
            case string text:
                return (long)XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(text));
            default:
                throw new ArgumentException($"{key.GetType().Name} is not a hashed key type.");
        }
    }

    /// <summary>The key as kept in the payload and the key field.</summary>
    public static string KeyText(object key) => key switch
    {
        Guid guid => guid.ToString("D"),
        string text => text,
        _ => throw new ArgumentException($"{key.GetType().Name} is not a hashed key type."),
    };

    public static object ParseKey(Type keyType, string text) => keyType == typeof(Guid) ? Guid.Parse(text) : text;

    /// <summary>A caller's key object as the key property's type (dynamic collections take keys as object).</summary>
    public static object Normalise(Type keyType, object? key, string collection)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.GetType() == keyType) return key;
        if (keyType == typeof(long) && key is int i) return (long)i;
        if (keyType == typeof(int) && key is long l && l is >= int.MinValue and <= int.MaxValue) return (int)l;
        throw new ArgumentException($"Collection '{collection}' has {keyType.Name} keys; the key {key} is {key.GetType().Name}.", nameof(key));
    }

    public static VectorStoreException Exhausted(string keyText, string collection) => new(
        $"Key '{keyText}' of collection '{collection}': all {MaxProbes} ids of its probe sequence hold other keys (a run of 64-bit hash collisions; report this).")
    {
        VectorStoreSystemName = EmbeddedVectorsVectorStore.SystemName,
        CollectionName = collection,
    };
}
