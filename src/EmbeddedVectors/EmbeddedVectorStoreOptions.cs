using EmbeddedVectors.Training;

namespace EmbeddedVectors;

/// <summary>
/// How a store is shaped (fixed at <see cref="EmbeddedVectorStore.Create"/>) and how it behaves (per open).
/// The shape (dimension, metric, nlist, m, re-rank storage) is recorded in the store; when opening an existing
/// store only <see cref="ReadOnly"/>, <see cref="SealThreshold"/> and <see cref="KMeans"/> are taken from here.
/// </summary>
public sealed record EmbeddedVectorStoreOptions
{
    /// <summary>Length of every vector. Required to create a store.</summary>
    public int Dimension { get; init; }

    /// <summary>How nearness is measured (default L2).</summary>
    public Metric Metric { get; init; } = Metric.L2;

    /// <summary>Inverted-file cells (default 1024). Rule of thumb: about √n to 4√n for n vectors.</summary>
    public int NList { get; init; } = 1024;

    /// <summary>
    /// PQ sub-quantizers; must divide the dimension. 0 (default) picks dimension / 8 for <see cref="VectorCodes.Pq8"/>
    /// and dimension / 4 for <see cref="VectorCodes.Pq4FastScan"/>, which is the same code size in bytes.
    /// </summary>
    public int M { get; init; }

    /// <summary>
    /// Learn an OPQ rotation (Ge et al.) before the quantizers at training: the same code size loses less, at
    /// the cost of a d × d rotation of every vector and query and some seconds of training. Fixed at creation.
    /// </summary>
    public bool Opq { get; init; }

    /// <summary>Rounds of OPQ training when <see cref="Opq"/> is set (default 20).</summary>
    public int OpqIterations { get; init; } = 20;

    /// <summary>How vectors are coded in the segments (default <see cref="VectorCodes.Pq8"/>). Fixed at creation.</summary>
    public VectorCodes Codes { get; init; } = VectorCodes.Pq8;

    /// <summary>
    /// Vectors the store collects before it trains its quantizers by itself (0, the default, means
    /// max(256, 32 × nlist)). Until then vectors are searched exactly. <see cref="EmbeddedVectorStore.Train"/>
    /// trains at once on a sample you choose.
    /// </summary>
    public int TrainingThreshold { get; init; }

    /// <summary>Keep full-precision vectors for exact re-ranking (default true; costs 4 × dimension bytes a vector).</summary>
    public bool StoreVectors { get; init; } = true;

    /// <summary>
    /// Entries held in the in-memory write buffer before it is sealed into a segment file. 0 (default) means the
    /// value recorded when the store was created, or 65,536 for a new store.
    /// </summary>
    public int SealThreshold { get; init; }

    internal const int DefaultSealThreshold = 65_536;

    internal int EffectiveSealThreshold => SealThreshold > 0 ? SealThreshold : DefaultSealThreshold;

    /// <summary>Open without the write lock: other processes may read the same store while one writes. Default false.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>k-means settings for training.</summary>
    public KMeansOptions KMeans { get; init; } = new();

    /// <summary>
    /// From this nlist on (default <see cref="CoarseQuantizer.DefaultGraphMinNList"/>), the store probes its cells
    /// through an HNSW graph over the centroids instead of scanning every centroid: built at training, or at the
    /// first open of a store trained without one, and kept in <c>coarse-graph.evq</c>. A store that has the file
    /// always uses it. <see cref="int.MaxValue"/> turns graphs off for new stores.
    /// </summary>
    public int CoarseGraphMinNList { get; init; } = CoarseQuantizer.DefaultGraphMinNList;

    /// <summary>
    /// Opens the store's payload log from its directory (<c>log/</c> in the store) and the read-only flag; null (the
    /// default) opens the FASTER log there. Tests set it to run a store on an <see cref="Storage.InMemoryPayloadLog"/>;
    /// it applies to every open, like <see cref="ReadOnly"/>.
    /// </summary>
    internal Func<string, bool, Storage.IPayloadLog>? PayloadLogFactory { get; init; }

    internal int EffectiveM => M > 0 ? M : DefaultM;

    private int DefaultM
    {
        get
        {
            int dimensionsPerCode = Codes == VectorCodes.Pq4FastScan ? 4 : 8;
            for (int m = Math.Max(1, Dimension / dimensionsPerCode); m >= 1; m--)
                if (Dimension % m == 0 && (Codes != VectorCodes.Pq4FastScan || m % 2 == 0)) return m;
            return 1;
        }
    }

    internal int EffectiveTrainingThreshold => TrainingThreshold > 0 ? TrainingThreshold : DefaultTrainingThreshold(NList);

    /// <summary>
    /// The <see cref="TrainingThreshold"/> a store with <paramref name="nlist"/> lists uses when none is set:
    /// max(256, 32 × nlist) vectors.
    /// </summary>
    /// <param name="nlist">The number of inverted lists (<see cref="NList"/>).</param>
    /// <returns>The number of vectors the store collects before it trains itself.</returns>
    public static int DefaultTrainingThreshold(int nlist) => Math.Max(256, 32 * nlist);

    internal void ValidateForCreate()
    {
        if (Dimension < 1) throw new ArgumentOutOfRangeException(nameof(Dimension), Dimension, "Set Dimension to the length of your vectors.");
        if (!Enum.IsDefined(Metric)) throw new ArgumentOutOfRangeException(nameof(Metric), Metric, "Unknown metric.");
        if (NList < 1) throw new ArgumentOutOfRangeException(nameof(NList), NList, "nlist must be at least 1.");
        if (M < 0) throw new ArgumentOutOfRangeException(nameof(M), M, "m must be positive, or 0 for the default.");
        if (!Enum.IsDefined(Codes)) throw new ArgumentOutOfRangeException(nameof(Codes), Codes, "Unknown code layout.");
        ProductQuantizer.ValidateShape(Dimension, EffectiveM);
        if (Codes == VectorCodes.Pq4FastScan) Kernels.FastScan.ValidateM(EffectiveM);
        if (OpqIterations < 1) throw new ArgumentOutOfRangeException(nameof(OpqIterations), OpqIterations, "At least one round.");
        if (TrainingThreshold < 0) throw new ArgumentOutOfRangeException(nameof(TrainingThreshold), TrainingThreshold, "Use 0 for the default.");
        if (TrainingThreshold > 0 && TrainingThreshold < Math.Max(256, NList))
            throw new ArgumentOutOfRangeException(nameof(TrainingThreshold), TrainingThreshold, $"Training needs at least max(256, nlist) = {Math.Max(256, NList)} vectors.");
        ValidateForOpen();
    }

    internal void ValidateForOpen()
    {
        if (SealThreshold < 0) throw new ArgumentOutOfRangeException(nameof(SealThreshold), SealThreshold, "Must be positive, or 0 for the store's recorded value.");
    }

}

/// <summary>How a store codes its vectors.</summary>
public enum VectorCodes
{
    /// <summary>8-bit PQ: m one-byte codes a vector, scanned with float distance tables (<c>pq8</c>).</summary>
    Pq8 = 1,

    /// <summary>
    /// 4-bit fast-scan PQ: m half-byte codes a vector in blocks of 32, scanned with SIMD byte shuffles over
    /// quantised tables (<c>pq4fs</c>). Faster to scan; pair it with re-ranking.
    /// </summary>
    Pq4FastScan = 2,
}

/// <summary>Per-call settings of <see cref="EmbeddedVectorStore.Search(ReadOnlySpan{float}, int, StoreSearchOptions?)"/>.</summary>
public sealed record StoreSearchOptions
{
    /// <summary>The default settings.</summary>
    public static StoreSearchOptions Default { get; } = new();

    /// <summary>Inverted-file cells scanned (default 16; clamped to nlist).</summary>
    public int NProbe { get; init; } = 16;

    /// <summary>Re-rank the best <c>Rerank</c> candidates by exact distance (needs <see cref="EmbeddedVectorStoreOptions.StoreVectors"/>). Default 0.</summary>
    public int Rerank { get; init; }

    /// <summary>Only ids for which this returns true can be returned. It runs on search threads: keep it fast and thread-safe.</summary>
    public Func<long, bool>? Filter { get; init; }

    internal void Validate()
    {
        if (NProbe < 1) throw new ArgumentOutOfRangeException(nameof(NProbe), NProbe, "nprobe must be at least 1.");
        if (Rerank < 0) throw new ArgumentOutOfRangeException(nameof(Rerank), Rerank, "rerank must be 0 (off) or positive.");
    }
}

/// <summary>One search hit. The payload is read from the log only when asked for.</summary>
public sealed class StoreHit
{
    private readonly EmbeddedVectorStore _store;
    private byte[]? _payload;

    internal StoreHit(EmbeddedVectorStore store, long id, float distance)
    {
        _store = store;
        Id = id;
        Distance = distance;
    }

    /// <summary>The entry's id.</summary>
    public long Id { get; }

    /// <summary>Smaller is nearer: squared L2, negated inner product, or <c>1 − cos</c>.</summary>
    public float Distance { get; }

    /// <summary>The payload bytes, read on first use (null if the entry was deleted since the search).</summary>
    public byte[]? Payload => _payload ??= _store.Get(Id)?.Payload;

    /// <summary>The payload as UTF-8 text.</summary>
    public string? PayloadText => Payload is { } bytes ? System.Text.Encoding.UTF8.GetString(bytes) : null;
}

/// <summary>A stored entry as <see cref="EmbeddedVectorStore.Get"/> returns it.</summary>
/// <param name="Id">The id.</param>
/// <param name="Vector">The vector as stored (unit length for the cosine metric).</param>
/// <param name="Payload">The payload bytes.</param>
public sealed record StoredEntry(long Id, float[] Vector, byte[] Payload)
{
    /// <summary>The payload as UTF-8 text.</summary>
    public string PayloadText => System.Text.Encoding.UTF8.GetString(Payload);
}

/// <summary>Counts and sizes of a store, as <see cref="EmbeddedVectorStore.GetInfo"/> reports them.</summary>
public sealed record StoreInfo
{
    /// <summary>Live entries.</summary>
    public long Count { get; init; }
    /// <summary>Vector length.</summary>
    public int Dimension { get; init; }
    /// <summary>Metric.</summary>
    public Metric Metric { get; init; }
    /// <summary>Inverted-file cells.</summary>
    public int NList { get; init; }
    /// <summary>PQ sub-quantizers (bytes a code).</summary>
    public int M { get; init; }
    /// <summary>Whether the quantizers are trained.</summary>
    public bool Trained { get; init; }
    /// <summary>Sealed segment files.</summary>
    public int Segments { get; init; }
    /// <summary>Entries in sealed segments, deleted ones included.</summary>
    public long SealedEntries { get; init; }
    /// <summary>Deleted or replaced entries still taking space in segments.</summary>
    public long DeletedEntries { get; init; }
    /// <summary>Entries in the in-memory write buffer.</summary>
    public long BufferedEntries { get; init; }
    /// <summary>Bytes of every file in the store directory.</summary>
    public long BytesOnDisk { get; init; }
    /// <summary>Whether full vectors are kept for re-ranking.</summary>
    public bool StoreVectors { get; init; }
    /// <summary>Live entries at which an untrained store trains itself.</summary>
    public int TrainingThreshold { get; init; }
    /// <summary>Write-buffer entries at which the buffer is sealed into a segment.</summary>
    public int SealThreshold { get; init; }
    /// <summary>Code layout of the segments: <c>pq8</c> or <c>pq4fs</c>.</summary>
    public string Codes { get; init; } = "pq8";
    /// <summary>Whether the quantizers work on OPQ-rotated vectors.</summary>
    public bool Opq { get; init; }
}
