using System.Text;
using EmbeddedVectors;

// Usage: EmbeddedVectors.CrashChild STORE_DIR START_ID
// Appends batches of entries from START_ID on; after each batch deletes the batch's ids divisible by 11, commits,
// and prints "committed N" (every id below N is durable) until killed. Entries are a pure function of their id
// (CrashEntries), so re-adding from an earlier start is harmless and the parent can check what survived.
string directory = args[0];
long next = long.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
using var store = EmbeddedVectorStore.OpenOrCreate(directory, CrashEntries.Options);
const int Batch = 97;
var ids = new long[Batch];
var vectors = new float[Batch * CrashEntries.Dimension];
var payloads = new byte[Batch][];
for (int round = 0; round < 5000; round++)
{
    for (int i = 0; i < Batch; i++)
    {
        ids[i] = next + i;
        CrashEntries.VectorOf(ids[i], vectors.AsSpan(i * CrashEntries.Dimension, CrashEntries.Dimension));
        payloads[i] = CrashEntries.PayloadOf(ids[i]);
    }
    store.AddRange(ids, vectors, payloads);
    foreach (long id in ids)
        if (CrashEntries.IsDeleted(id)) store.Delete(id);
    store.Commit();
    next += Batch;
    Console.Out.WriteLine($"committed {next}");
    Console.Out.Flush();
}

/// <summary>The deterministic content of the crash test's entries.</summary>
public static class CrashEntries
{
    public const int Dimension = 16;

    public static EmbeddedVectorStoreOptions Options { get; } = new()
    {
        Dimension = Dimension,
        NList = 16,
        M = 4,
        TrainingThreshold = 1500,
        SealThreshold = 2500,
        Rows = RowEncoding.Float32, // committed vectors are checked bit for bit after a crash
    };

    /// <summary>Pseudo-random values seeded by the id (SplitMix64), so no two entries are near-duplicates.</summary>
    public static void VectorOf(long id, Span<float> vector)
    {
        ulong state = (ulong)id * 0x9E3779B97F4A7C15UL + 12345;
        for (int j = 0; j < vector.Length; j++)
        {
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            vector[j] = (z >> 40) / (float)(1 << 24) - 0.5f;
        }
    }

    public static byte[] PayloadOf(long id) => Encoding.UTF8.GetBytes($"{{\"id\":{id},\"text\":\"entry {id}\"}}");

    public static bool IsDeleted(long id) => id % 11 == 0;
}
