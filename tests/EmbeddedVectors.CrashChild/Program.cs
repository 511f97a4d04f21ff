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
    };

    public static void VectorOf(long id, Span<float> vector)
    {
        for (int j = 0; j < vector.Length; j++) vector[j] = MathF.Sin(id * 0.37f + j * 1.3f) + (id % 13) * 0.01f;
    }

    public static byte[] PayloadOf(long id) => Encoding.UTF8.GetBytes($"{{\"id\":{id},\"text\":\"entry {id}\"}}");

    public static bool IsDeleted(long id) => id % 11 == 0;
}
