using System.Globalization;
using System.Text;

namespace EmbeddedVectors.Soak;

/// <summary>
/// The writer the kill soak kills: a random workload on one store until it is killed. Before each operation it
/// prints what the operation will do, and after each completed <see cref="EmbeddedVectorStore.Commit"/> it prints
/// <c>C</c>, so the parent knows what was acknowledged (everything before a <c>C</c>) and what may or may not
/// have reached the disk (everything after the last one). Lines end with " ." so that a line cut by the kill is
/// recognisable.
/// </summary>
/// <remarks>
/// Lines: <c>A id:version ...</c> an AddRange (an upsert of ids already present); <c>D id ...</c> deletes;
/// <c>C</c> a commit returned; <c>S</c> a flush (seal); <c>K</c> a compaction; <c>T</c> training on a sample of an
/// untrained store; <c>R</c> retraining. Ids are drawn from [0, <see cref="IdSpace"/>) so that upserts and
/// deletes of existing entries are frequent.
/// </remarks>
public static class SoakChild
{
    /// <summary>Ids the workload draws from.</summary>
    public const int IdSpace = 3000;

    /// <summary>The options of a soak store: real 384-d vectors, 16 cells, float32 rows (checked bit for bit), two fields.</summary>
    public static EmbeddedVectorStoreOptions Options(int dimension) => new()
    {
        Dimension = dimension,
        NList = 16,
        M = 8,
        TrainingThreshold = 1000,
        SealThreshold = 1200,
        Rows = RowEncoding.Float32,
        Fields = SoakData.Fields,
    };

    /// <summary>Runs the workload on the store in <paramref name="directory"/> (created when missing) until killed, or for <paramref name="maxOperations"/>.</summary>
    public static int Run(string directory, int seed, string dataPath, int maxOperations = int.MaxValue)
    {
        var data = SoakData.Load(dataPath);
        var random = new Random(seed);
        var output = Console.Out;
        using var store = EmbeddedVectorStore.OpenOrCreate(directory, Options(data.Dimension));
        if (!store.IsTrained && random.NextDouble() < 0.3)
        {
            Print(output, "T");
            var sample = new float[512 * data.Dimension];
            for (int i = 0; i < 512; i++) data.Rows.AsSpan(random.Next(SoakData.SliceRows) * data.Dimension, data.Dimension).CopyTo(sample.AsSpan(i * data.Dimension));
            store.Train(sample);
        }
        var line = new StringBuilder();
        for (int operation = 0; operation < maxOperations; operation++)
        {
            double draw = random.NextDouble();
            if (draw < 0.6) AddBatch(store, data, random, line, output);
            else if (draw < 0.85) DeleteSome(store, random, line, output);
            else if (draw < 0.93)
            {
                Print(output, "S");
                store.Flush();
            }
            else if (draw < 0.95)
            {
                Print(output, "K");
                store.Compact();
            }
            else if (draw < 0.955 && store.IsTrained && store.Count >= 256) // retraining needs 256 live entries
            {
                Print(output, "R");
                store.Retrain(1000);
            }
            if (random.NextDouble() < 0.7)
            {
                store.Commit();
                Print(output, "C");
            }
        }
        return 0;
    }

    private static void AddBatch(EmbeddedVectorStore store, SoakData data, Random random, StringBuilder line, TextWriter output)
    {
        int count = random.Next(1, 41);
        var ids = new long[count];
        var versions = new long[count];
        var vectors = new float[count * data.Dimension];
        var payloads = new byte[count][];
        var fields = new FieldValues?[count];
        line.Clear().Append('A');
        for (int i = 0; i < count; i++)
        {
            ids[i] = random.Next(IdSpace);
            versions[i] = random.NextInt64(1, long.MaxValue >> 8);
            data.VectorOf(ids[i], versions[i]).CopyTo(vectors.AsSpan(i * data.Dimension));
            payloads[i] = SoakData.PayloadOf(ids[i], versions[i]);
            fields[i] = SoakData.FieldsOf(versions[i]);
            line.Append(' ').Append(ids[i].ToString(CultureInfo.InvariantCulture)).Append(':').Append(versions[i].ToString(CultureInfo.InvariantCulture));
        }
        Print(output, line.ToString());
        store.AddRange(ids, vectors, payloads, fields);
    }

    private static void DeleteSome(EmbeddedVectorStore store, Random random, StringBuilder line, TextWriter output)
    {
        int count = random.Next(1, 11);
        var ids = new long[count];
        line.Clear().Append('D');
        for (int i = 0; i < count; i++)
        {
            ids[i] = random.Next(IdSpace);
            line.Append(' ').Append(ids[i].ToString(CultureInfo.InvariantCulture));
        }
        Print(output, line.ToString());
        foreach (long id in ids) store.Delete(id);
    }

    private static void Print(TextWriter output, string line)
    {
        output.Write(line + " .\n");
        output.Flush();
    }
}
