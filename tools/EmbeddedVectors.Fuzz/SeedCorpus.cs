using System.IO.Compression;
using System.Text;
using System.Text.Json;
using EmbeddedVectors.IO;

namespace EmbeddedVectors.Fuzz;

/// <summary>
/// Builds the seed corpus: small real stores in several configurations and import files, all made from the
/// public debian-minilm-384 data (its first rows, cut to <see cref="Dimension"/> components so that each input is
/// a few KiB to a few hundred KiB and a mutated copy is cheap to write and read).
/// </summary>
internal static class SeedCorpus
{
    /// <summary>Components kept of each 384-dimensional vector.</summary>
    public const int Dimension = 32;

    /// <summary>Rows taken from the data set.</summary>
    public const int Rows = 1200;

    /// <summary>Store directories under the corpus, one a configuration.</summary>
    public static readonly string[] StoreNames =
        ["pq8-f16-fields", "pq8-f16-fields-unsealed", "pq4fs-i8-opq", "pq8-f32-graph", "pq8-novectors", "untrained-small"];

    /// <summary>Where the import files are, under the corpus.</summary>
    public const string ImportsDirectory = "imports";

    /// <summary>The JSONL payload file of the imports, and the vector file it belongs with.</summary>
    public const string PayloadsFile = "payloads.jsonl", PayloadVectorsFile = "vectors.fvecs";

    /// <summary>The field schema of the stores with fields and of the JSONL payloads.</summary>
    public static readonly FieldDefinition[] Fields =
        [new("section", FieldType.String), new("size", FieldType.Long), new("score", FieldType.Double), new("tags", FieldType.Tags)];

    /// <summary>Builds the corpus in <paramref name="corpus"/> (replacing it) from the data set in <paramref name="dataDirectory"/>.</summary>
    public static void Build(string corpus, string dataDirectory)
    {
        if (Directory.Exists(corpus)) Directory.Delete(corpus, recursive: true);
        Directory.CreateDirectory(corpus);
        float[] full = VectorFile.ReadAllFloats(Path.Combine(dataDirectory, "base.fvecs"), out int fullDimension, Rows);
        var vectors = new float[Rows * Dimension];
        for (int r = 0; r < Rows; r++) full.AsSpan(r * fullDimension, Dimension).CopyTo(vectors.AsSpan(r * Dimension));
        string[] texts = ReadTexts(Path.Combine(dataDirectory, "corpus.tsv.gz"), Rows);

        BuildFieldsStore(corpus, vectors, texts);
        BuildStore(Path.Combine(corpus, "pq4fs-i8-opq"), vectors, texts, 800, new EmbeddedVectorStoreOptions
        {
            Dimension = Dimension, NList = 8, M = 8, Codes = VectorCodes.Pq4FastScan, Opq = true, OpqIterations = 4, Rows = RowEncoding.Int8,
            TrainingThreshold = 300, SealThreshold = 300,
        });
        BuildStore(Path.Combine(corpus, "pq8-f32-graph"), vectors, texts, 600, new EmbeddedVectorStoreOptions
        {
            Dimension = Dimension, NList = 16, M = 8, Rows = RowEncoding.Float32, CoarseGraphMinNList = 16, TrainingThreshold = 300, SealThreshold = 400,
        });
        BuildStore(Path.Combine(corpus, "pq8-novectors"), vectors, texts, 500, new EmbeddedVectorStoreOptions
        {
            Dimension = Dimension, NList = 8, M = 8, StoreVectors = false, Rows = RowEncoding.Float32, TrainingThreshold = 300, SealThreshold = 400,
        });
        BuildUntrainedStore(Path.Combine(corpus, "untrained-small"), vectors, texts);
        BuildImports(Path.Combine(corpus, ImportsDirectory), vectors, texts, dataDirectory);
    }

    /// <summary>
    /// A store not yet trained, all of it in the log: 24 entries with payloads and fields over three commits, two
    /// deleted. Its log segment is a few KiB where the other stores' are 165–446 KiB, small enough for afl-fuzz
    /// to mutate well (tools/fuzz/afl.sh).
    /// </summary>
    private static void BuildUntrainedStore(string path, float[] vectors, string[] texts)
    {
        using var store = EmbeddedVectorStore.Create(path, new EmbeddedVectorStoreOptions
        {
            Dimension = Dimension, NList = 8, M = 8, Fields = Fields, TrainingThreshold = 300,
        });
        AddRows(store, vectors, texts, 0, 12, withFields: true);
        store.Commit();
        AddRows(store, vectors, texts, 12, 24, withFields: true);
        store.Commit();
        store.Delete(3);
        store.Delete(17);
        store.Commit();
    }

    /// <summary>
    /// Fields, payloads, deletions in sealed segments (deletion files), and a copy taken while the writer is open
    /// after a commit, whose log holds entries no segment has yet (replayed at open).
    /// </summary>
    private static void BuildFieldsStore(string corpus, float[] vectors, string[] texts)
    {
        string path = Path.Combine(corpus, "pq8-f16-fields");
        var options = new EmbeddedVectorStoreOptions
        {
            Dimension = Dimension, NList = 8, M = 8, Rows = RowEncoding.Float16, Fields = Fields, TrainingThreshold = 300, SealThreshold = 400,
        };
        using var store = EmbeddedVectorStore.Create(path, options);
        AddRows(store, vectors, texts, 0, 1000, withFields: true);
        for (long id = 0; id < 1000; id += 17) store.Delete(id);
        store.Commit();
        store.Flush();
        AddRows(store, vectors, texts, 1000, 1100, withFields: true);
        for (long id = 5; id < 1100; id += 97) store.Delete(id);
        store.Commit();
        CopyDirectory(path, Path.Combine(corpus, "pq8-f16-fields-unsealed"));
    }

    private static void BuildStore(string path, float[] vectors, string[] texts, int count, EmbeddedVectorStoreOptions options)
    {
        using var store = EmbeddedVectorStore.Create(path, options);
        AddRows(store, vectors, texts, 0, count, withFields: false);
        for (long id = 3; id < count; id += 29) store.Delete(id);
        store.Commit();
    }

    private static void AddRows(EmbeddedVectorStore store, float[] vectors, string[] texts, int from, int to, bool withFields)
    {
        for (int r = from; r < to; r++)
        {
            var payload = Encoding.UTF8.GetBytes(PayloadJson(r, texts[r]));
            var fields = withFields ? FieldsOf(r, texts[r]) : null;
            store.Add(r, vectors.AsSpan(r * Dimension, Dimension), payload, fields);
            if (r % 250 == 249) store.Commit();
        }
    }

    private static FieldValues FieldsOf(int row, string text) => new FieldValues()
        .Set("section", text.Split(':')[0])
        .Set("size", (long)text.Length)
        .Set("score", row / 7.0)
        .Set("tags", row % 3 == 0 ? ["a", "b"] : row % 3 == 1 ? ["c"] : []);

    private static string PayloadJson(int row, string text) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["section"] = text.Split(':')[0], ["size"] = text.Length, ["score"] = row / 7.0, ["tags"] = row % 2 == 0 ? new[] { "a", "b" } : new[] { "c" },
        ["text"] = text.Length > 80 ? text[..80] : text,
    });

    private static void BuildImports(string directory, float[] vectors, string[] texts, string dataDirectory)
    {
        Directory.CreateDirectory(directory);
        const int rows = 200;
        var some = vectors.AsSpan(0, rows * Dimension);
        VectorFile.WriteFvecs(Path.Combine(directory, PayloadVectorsFile), some, Dimension);
        VectorFile.WriteNpy(Path.Combine(directory, "vectors.npy"), some, Dimension);
        var bytes = new byte[rows * Dimension];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)Math.Clamp(128 + some[i] * 1000, 0, 255);
        VectorFile.WriteBvecs(Path.Combine(directory, "vectors.bvecs"), bytes, Dimension);
        int[] truth = VectorFile.ReadAllInt32(Path.Combine(dataDirectory, "groundtruth.ivecs"), out int width, 20);
        VectorFile.WriteIvecs(Path.Combine(directory, "truth.ivecs"), truth, width);
        var ids = new long[rows];
        for (int i = 0; i < rows; i++) ids[i] = 1_000_000 + i;
        VectorFile.WriteNpy(Path.Combine(directory, "ids.npy"), ids, 1);
        var lines = new StringBuilder();
        for (int r = 0; r < rows; r++) lines.Append(PayloadJson(r, texts[r])).Append('\n');
        File.WriteAllText(Path.Combine(directory, PayloadsFile), lines.ToString());
    }

    private static string[] ReadTexts(string path, int rows)
    {
        var texts = new string[rows];
        using var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
        for (int r = 0; r < rows; r++)
        {
            string line = reader.ReadLine() ?? throw new InvalidDataException($"{path} has fewer than {rows} lines.");
            int tab = line.IndexOf('\t');
            texts[r] = tab >= 0 ? line[(tab + 1)..] : line;
        }
        return texts;
    }

    /// <summary>Copies a store directory (without its lock file) and everything under it.</summary>
    public static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from))
            if (Path.GetFileName(file) != "LOCK") File.Copy(file, Path.Combine(to, Path.GetFileName(file)), overwrite: true);
        foreach (string directory in Directory.GetDirectories(from))
            CopyDirectory(directory, Path.Combine(to, Path.GetFileName(directory)));
    }

    /// <summary>The data set directory: <paramref name="given"/>, or shared/data/debian-minilm-384 found by walking up from the binaries.</summary>
    public static string FindDataDirectory(string? given)
    {
        if (given != null) return given;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "data", "debian-minilm-384");
            if (File.Exists(Path.Combine(candidate, "base.fvecs"))) return candidate;
        }
        throw new DirectoryNotFoundException("No shared/data/debian-minilm-384 found above the binaries; pass --data DIR.");
    }
}
