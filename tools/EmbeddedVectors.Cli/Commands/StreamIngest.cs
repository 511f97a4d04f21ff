using System.Buffers;
using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using CommunityToolkit.HighPerformance;
using CommunityToolkit.HighPerformance.Buffers;
using EmbeddedVectors.Embeddings;
using EmbeddedVectors.IO;

namespace EmbeddedVectors.Cli.Commands;

/// <summary>
/// <c>ev add</c> from a source read once, front to back, whose length is not known: vectors from standard input
/// (<c>--vectors - --format F</c>) and documents embedded on the fly (<c>--text FILE</c>). Entries are added in
/// batches and committed every <c>commit-every</c> entries and at the end; the store trains itself when its buffer
/// reaches the training threshold (there is no file to sample from first).
/// </summary>
internal static class StreamIngest
{
    private const int VectorBatchBytes = 8 << 20;
    private const int TextBatch = 256;

    /// <summary>Streams vectors from <paramref name="input"/> (<c>ev add DIR --vectors - --format F</c>); ids start at <paramref name="firstId"/>.</summary>
    public static long AddVectors(EmbeddedVectorStore store, Stream input, VectorFileFormat format, string name, long firstId, int commitEvery)
    {
        using var reader = OpenVectors(input, format, name);
        if (reader.Dimension != store.Dimension)
            throw new UserErrorException($"{name} holds {reader.Dimension}-dimensional vectors but the store at {store.StorePath} is {store.Dimension}-dimensional.");
        int dim = reader.Dimension;
        int batchRows = Math.Min(commitEvery, (int)Math.Clamp(VectorBatchBytes / (4L * dim), 64, 65_536));
        // Pooled, and a Memory<float> the pipe's asynchronous read can fill.
        using var vectors = MemoryOwner<float>.Allocate(batchRows * dim);
        var ids = new long[batchRows];
        var committer = new Committer(store, commitEvery);
        while (true)
        {
            int wanted = (int)Math.Min(batchRows, committer.UntilCommit);
            int rows = reader.ReadFloatsAsync(vectors.Memory[..(wanted * dim)]).AsTask().GetAwaiter().GetResult();
            if (rows == 0) break;
            CheckFinite(vectors.Span[..(rows * dim)].AsSpan2D(rows, dim), name, committer.Added);
            for (int i = 0; i < rows; i++) ids[i] = checked(firstId + committer.Added + i);
            committer.Add(ids.AsSpan(0, rows), vectors.Span[..(rows * dim)], null);
        }
        committer.Finish();
        return committer.Added;
    }

    /// <summary>
    /// Embeds every document of <paramref name="documents"/> with all-MiniLM-L6-v2 and adds it with a JSON payload
    /// <c>{"text": …}</c> (<c>{"key": …, "text": …}</c> when a TSV's first column names it). Line n gets id
    /// <paramref name="firstId"/> + n − 1, unless a TSV's first column gives the id.
    /// </summary>
    public static long AddText(EmbeddedVectorStore store, TextDocuments documents, MiniLmEmbeddingGenerator generator, long firstId, int commitEvery)
    {
        RequireTextDimension(store);
        const int dim = MiniLmEmbeddingGenerator.Dimension;
        using var vectors = MemoryOwner<float>.Allocate(TextBatch * dim);
        var batch = new List<TextDocument>(TextBatch);
        var texts = new List<string>(TextBatch);
        var ids = new long[TextBatch];
        var committer = new Committer(store, commitEvery);
        while (documents.ReadBatch(batch, (int)Math.Min(TextBatch, committer.UntilCommit)))
        {
            if (batch.Count == 0) continue;
            texts.Clear();
            var payloads = new byte[batch.Count][];
            for (int i = 0; i < batch.Count; i++)
            {
                var document = batch[i];
                texts.Add(document.Text);
                ids[i] = document.Id ?? checked(firstId + document.Line - 1);
                payloads[i] = Payload(document);
            }
            generator.Embed(texts, vectors.Span);
            committer.Add(ids.AsSpan(0, batch.Count), vectors.Span[..(batch.Count * dim)], payloads);
            batch.Clear();
        }
        committer.Finish();
        return committer.Added;
    }

    private static readonly Dictionary<int, MiniLmEmbeddingGenerator> Generators = [];

    /// <summary>
    /// The model on <paramref name="threads"/> cores (0: all), loaded once a process: loading takes a second or two,
    /// which commands run in-process one after another (the tests) would otherwise pay every time.
    /// </summary>
    public static MiniLmEmbeddingGenerator Generator(int threads)
    {
        lock (Generators)
        {
            if (!Generators.TryGetValue(threads, out var generator))
                Generators[threads] = generator = new MiniLmEmbeddingGenerator(new MiniLmEmbeddingOptions { Threads = threads });
            return generator;
        }
    }

    /// <summary>A store for text must have the model's dimension; the message says how to make one.</summary>
    public static void RequireTextDimension(EmbeddedVectorStore store)
    {
        if (store.Dimension != MiniLmEmbeddingGenerator.Dimension)
            throw new UserErrorException($"The store at {store.StorePath} is {store.Dimension}-dimensional, but text is embedded with {MiniLmEmbeddingGenerator.ModelName} into {MiniLmEmbeddingGenerator.Dimension} dimensions. "
                + $"Create a store for text with 'ev create DIR --dim {MiniLmEmbeddingGenerator.Dimension} --metric cosine'.");
    }

    /// <summary>Parses <c>fvecs</c>, <c>bvecs</c> or <c>npy</c>.</summary>
    public static VectorFileFormat ParseFormat(string? text) => text?.ToLowerInvariant() switch
    {
        "fvecs" => VectorFileFormat.Fvecs,
        "bvecs" => VectorFileFormat.Bvecs,
        "npy" => VectorFileFormat.Npy,
        null => throw new UserErrorException("--vectors - reads standard input, whose format cannot be told from a name: give --format fvecs, bvecs or npy."),
        _ => throw new UserErrorException($"Unknown --format '{text}'. Use fvecs, bvecs or npy."),
    };

    private static VectorStreamReader OpenVectors(Stream input, VectorFileFormat format, string name)
    {
        try
        {
            return VectorStreamReader.OpenAsync(input, format, name, leaveOpen: true).AsTask().GetAwaiter().GetResult();
        }
        catch (CorruptFileException e)
        {
            throw new UserErrorException(e.Message);
        }
    }

    private static byte[] Payload(TextDocument document)
    {
        var buffer = new ArrayBufferWriter<byte>(document.Text.Length + 32);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            if (document.Key != null) writer.WriteString("key", document.Key);
            writer.WriteString("text", document.Text);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void CheckFinite(Span2D<float> batch, string name, long firstRow)
    {
        for (int row = 0; row < batch.Height; row++)
        {
            var values = batch.GetRowSpan(row);
            for (int column = 0; column < values.Length; column++)
            {
                if (float.IsFinite(values[column])) continue;
                throw new UserErrorException($"{name}, row {firstRow + row}: value {column} is {(float.IsNaN(values[column]) ? "NaN" : "infinite")}; only finite values can be stored. "
                    + $"The {firstRow:N0} rows before this batch were added.");
            }
        }
    }

    /// <summary>Adds batches, commits every <c>commitEvery</c> entries and at the end, and prints progress every two seconds.</summary>
    private sealed class Committer(EmbeddedVectorStore store, int commitEvery)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly Stopwatch _lastReport = Stopwatch.StartNew();
        private long _committed;

        public long Added { get; private set; }

        /// <summary>Entries to add before the next commit: a batch never straddles one.</summary>
        public long UntilCommit => commitEvery - (Added - _committed);

        public void Add(ReadOnlySpan<long> ids, ReadOnlySpan<float> vectors, byte[][]? payloads)
        {
            store.AddRange(ids, vectors, payloads);
            Added += ids.Length;
            if (Added - _committed >= commitEvery) Commit();
            if (_lastReport.Elapsed.TotalSeconds >= 2)
            {
                _lastReport.Restart();
                Print($"added {Added:N0} ({Added / Math.Max(_clock.Elapsed.TotalSeconds, 1e-9):N0} a second)");
            }
        }

        public void Finish()
        {
            if (Added > _committed) Commit();
        }

        private void Commit()
        {
            store.Commit();
            _committed = Added;
            Print($"committed {_committed}");
        }

        private static void Print(string line)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }
    }
}
