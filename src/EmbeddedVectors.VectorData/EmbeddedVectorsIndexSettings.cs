namespace EmbeddedVectors.VectorData;

/// <summary>
/// Index kinds this connector accepts in <c>VectorStoreVectorAttribute.IndexKind</c>, besides
/// <see cref="Microsoft.Extensions.VectorData.IndexKind.Flat"/>, <see cref="Microsoft.Extensions.VectorData.IndexKind.IvfFlat"/>
/// and <see cref="Microsoft.Extensions.VectorData.IndexKind.Dynamic"/> (which means <see cref="IvfPq"/>).
/// </summary>
public static class EmbeddedVectorsIndexKind
{
    /// <summary>
    /// The store's own index and the default: an inverted file (nlist cells) of 8-bit product-quantised codes,
    /// searched over nprobe cells and re-ranked exactly from the stored vectors. Exact search until the collection
    /// holds enough vectors to train.
    /// </summary>
    public const string IvfPq = "IvfPq";
}

/// <summary>
/// The store settings behind a collection's vector index. Shape settings (nlist, m, codes, rows, training
/// threshold) are fixed when the collection is created; search settings (nprobe, re-rank) apply per open.
/// The defaults give recall@10 ≥ 0.95 on the public 384-dimensional MiniLM set (docs/vectordata.md).
/// </summary>
public sealed record EmbeddedVectorsIndexSettings
{
    /// <summary>Inverted-file cells of an <see cref="EmbeddedVectorsIndexKind.IvfPq"/> or IvfFlat index (default 1024).</summary>
    public int NList { get; init; } = 1024;

    /// <summary>PQ sub-quantizers; must divide the dimension. 0 (default): dimension / 8 for IvfPq, dimension / 2 for IvfFlat (largest divisor not above).</summary>
    public int M { get; init; }

    /// <summary>How IvfPq codes vectors (default <see cref="VectorCodes.Pq8"/>).</summary>
    public VectorCodes Codes { get; init; } = VectorCodes.Pq8;

    /// <summary>
    /// How the stored vectors are kept (default <see cref="RowEncoding.Float32"/>, so records read back with
    /// <c>IncludeVectors</c> hold the vectors as written; <see cref="RowEncoding.Float16"/> halves the space).
    /// </summary>
    public RowEncoding Rows { get; init; } = RowEncoding.Float32;

    /// <summary>Vectors collected (searched exactly) before the index trains itself; 0 (default): max(256, 32 × nlist).</summary>
    public int TrainingThreshold { get; init; }

    /// <summary>
    /// Cells probed by a search (default 64: recall@10 0.9585 on the public set with the other defaults, where 32 gave
    /// 0.9356 and 48 0.9509; see docs/benchmarks-vectordata.md).
    /// </summary>
    public int NProbe { get; init; } = 64;

    /// <summary>Candidates re-ranked exactly: at least this many, and at least 10 × (top + skip) (default 100).</summary>
    public int Rerank { get; init; } = 100;

    internal void Validate()
    {
        if (NList < 1) throw new ArgumentOutOfRangeException(nameof(NList), NList, "nlist must be at least 1.");
        if (M < 0) throw new ArgumentOutOfRangeException(nameof(M), M, "m must be positive, or 0 for the default.");
        if (NProbe < 1) throw new ArgumentOutOfRangeException(nameof(NProbe), NProbe, "nprobe must be at least 1.");
        if (Rerank < 0) throw new ArgumentOutOfRangeException(nameof(Rerank), Rerank, "rerank must be 0 (off) or positive.");
        if (TrainingThreshold < 0) throw new ArgumentOutOfRangeException(nameof(TrainingThreshold), TrainingThreshold, "Use 0 for the default.");
    }
}
