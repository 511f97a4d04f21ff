using System.Globalization;

namespace EmbeddedVectors.Soak;

/// <summary>
/// A writer process driven line by line from standard input, so that a test in another process can interleave
/// its reads with this process's commits, seals and compactions. Prints "ready" once the store is open and "ok"
/// after each command; "error: ..." when a command fails.
/// </summary>
/// <remarks>
/// Commands: <c>add START COUNT</c> (ids START.., vectors <see cref="VectorOf"/>, payload "entry ID"),
/// <c>delete ID</c>, <c>commit</c>, <c>flush</c>, <c>compact</c>, <c>quit</c> (closes the store and exits).
/// </remarks>
public static class ScriptedWriter
{
    /// <summary>Length of the scripted entries' vectors.</summary>
    public const int Dimension = 8;

    /// <summary>Options of the scripted store: trains at 300 entries, no background merges.</summary>
    public static EmbeddedVectorStoreOptions Options { get; } = new() { Dimension = Dimension, NList = 4, M = 2, TrainingThreshold = 300, SealThreshold = 1000, MergeFactor = 0, Rows = RowEncoding.Float32 };

    /// <summary>The vector of <paramref name="id"/>: pseudo-random values seeded by the id.</summary>
    public static float[] VectorOf(long id)
    {
        var vector = new float[Dimension];
        for (int j = 0; j < Dimension; j++) vector[j] = (SoakData.Mix((ulong)id * Dimension + (ulong)j) >> 40) / (float)(1 << 24);
        return vector;
    }

    /// <summary>Creates the store in <paramref name="directory"/> and runs commands from <paramref name="input"/> until "quit" or its end.</summary>
    public static int Run(string directory, TextReader input, TextWriter output)
    {
        using var store = EmbeddedVectorStore.Create(directory, Options);
        output.WriteLine("ready");
        output.Flush();
        string? line;
        while ((line = input.ReadLine()) != null)
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0) continue;
            if (parts[0] == "quit") break;
            try
            {
                switch (parts[0])
                {
                    case "add": Add(store, Parse(parts[1]), (int)Parse(parts[2])); break;
                    case "delete": store.Delete(Parse(parts[1])); break;
                    case "commit": store.Commit(); break;
                    case "flush": store.Flush(); break;
                    case "compact": store.Compact(); break;
                    default: throw new ArgumentException($"unknown command '{parts[0]}'");
                }
                output.WriteLine("ok");
            }
            catch (Exception e) when (e is ArgumentException or EmbeddedVectorsException or IndexOutOfRangeException or FormatException)
            {
                output.WriteLine("error: " + e.Message.ReplaceLineEndings(" "));
            }
            output.Flush();
        }
        return 0;
    }

    private static long Parse(string text) => long.Parse(text, CultureInfo.InvariantCulture);

    private static void Add(EmbeddedVectorStore store, long start, int count)
    {
        var ids = new long[count];
        var vectors = new float[count * Dimension];
        var payloads = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            ids[i] = start + i;
            VectorOf(ids[i]).CopyTo(vectors, i * Dimension);
            payloads[i] = System.Text.Encoding.UTF8.GetBytes("entry " + ids[i].ToString(CultureInfo.InvariantCulture));
        }
        store.AddRange(ids, vectors, payloads);
    }
}
