using System.Text.Json;

namespace EmbeddedVectors.VectorData;

/// <summary>
/// Where Guid and string keys live among a store's ids (see <see cref="KeyIds"/>): the id already holding the key, or
/// the first free id of its probe sequence. Shared by the connector and by the cluster's shard grains, which hold the
/// store and get each key as its home id and its text.
/// </summary>
internal static class HashedKeySlots
{
    /// <summary>
    /// The ids of hashed keys: the id already holding a key, or the first free id of its probe sequence. Ids taken
    /// earlier in the same batch count as occupied; a key repeated in the batch maps to one id (the last record wins).
    /// </summary>
    public static long[] Assign(EmbeddedVectorStore store, IReadOnlyList<long> homes, IReadOnlyList<string> keyTexts, string collection)
    {
        var ids = new long[homes.Count];
        var taken = new Dictionary<long, string>();
        for (int i = 0; i < ids.Length; i++)
        {
            long home = homes[i];
            long? free = null;
            bool found = false;
            for (int probe = 0; probe < KeyIds.MaxProbes && !found; probe++)
            {
                long id = unchecked(home + probe);
                if (taken.TryGetValue(id, out var other))
                {
                    if (other == keyTexts[i]) { ids[i] = id; found = true; }
                    continue;
                }
                if (!store.Contains(id)) { free ??= id; continue; }
                if (HoldsKey(store.Get(id), keyTexts[i])) { ids[i] = id; found = true; }
            }
            if (!found) ids[i] = free ?? throw KeyIds.Exhausted(keyTexts[i], collection);
            taken[ids[i]] = keyTexts[i];
        }
        return ids;
    }

    /// <summary>The entry holding the key whose home id is <paramref name="home"/> and whose text is <paramref name="keyText"/>, or null.</summary>
    public static StoredEntry? Find(EmbeddedVectorStore store, long home, string keyText, out long id)
    {
        for (int probe = 0; probe < KeyIds.MaxProbes; probe++)
        {
            id = unchecked(home + probe);
            if (!store.Contains(id)) continue;
            var entry = store.Get(id);
            if (HoldsKey(entry, keyText)) return entry;
        }
        id = 0;
        return null;
    }

    private static bool HoldsKey(StoredEntry? entry, string keyText)
    {
        if (entry == null) return false;
        var reader = new Utf8JsonReader(entry.Payload);
        // The key is the payload's first property ("k"), so reading stops after a few bytes.
        return reader.Read() && reader.Read() && reader.ValueTextEquals("k"u8) && reader.Read()
            && reader.GetString() == keyText;
    }
}
