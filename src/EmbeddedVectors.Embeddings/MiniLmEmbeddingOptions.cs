namespace EmbeddedVectors.Embeddings;

/// <summary>How <see cref="MiniLmEmbeddingGenerator"/> runs the model.</summary>
public sealed class MiniLmEmbeddingOptions
{
    /// <summary>Cores one call runs the model on (0, the default: all of them).</summary>
    public int Threads { get; init; }

    /// <summary>
    /// Texts run through the model at once (default 32). Texts are batched by length, so larger batches pad little;
    /// beyond 32 they gain almost nothing and hold more memory.
    /// </summary>
    public int BatchSize { get; init; } = 32;
}
