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

    /// <summary>
    /// Typed metadata fields entries may carry (name and type), fixed at creation; values are given with each add
    /// (<see cref="FieldValues"/>) and filtered on with <see cref="StoreSearchOptions.Where"/>. Default: none.
    /// </summary>
    public IReadOnlyList<FieldDefinition> Fields { get; init; } = [];

    /// <summary>Keep full vectors for exact re-ranking (default true; costs what <see cref="Rows"/> says a vector).</summary>
    public bool StoreVectors { get; init; } = true;

    /// <summary>
    /// How sealed segments keep the re-rank vectors (default <see cref="RowEncoding.Float16"/>, 2 × dimension bytes
    /// a vector; <see cref="RowEncoding.Float32"/> doubles that, <see cref="RowEncoding.Int8"/> halves it). Fixed
    /// at creation; ignored with <see cref="StoreVectors"/> off. <see cref="EmbeddedVectorStore.Get"/> returns a
    /// sealed entry's vector at this precision. float16 is the default because on real embeddings its recall@10
    /// stayed within 0.0003 of float32 (docs/benchmarks-store.md, "Re-rank row encodings"); choose float32 when
    /// <c>Get</c> must return the vectors exactly as added.
    /// </summary>
    public RowEncoding Rows { get; init; } = RowEncoding.Float16;

    /// <summary>
    /// Entries held in the in-memory write buffer before it is sealed into a segment file. 0 (default) means the
    /// value recorded when the store was created, or 65,536 for a new store.
    /// </summary>
    public int SealThreshold { get; init; }

    internal const int DefaultSealThreshold = 65_536;

    internal int EffectiveSealThreshold => SealThreshold > 0 ? SealThreshold : DefaultSealThreshold;

    /// <summary>
    /// Segments of similar size merged into one in the background (tiered, as LSM trees do): when this many
    /// segments share a size tier (tiers grow by this factor from the seal threshold), they are merged, so a store
    /// of N entries keeps O(log N) segments and searches scan few long runs. Default 4; 0 turns merging off
    /// (<see cref="EmbeddedVectorStore.Compact"/> still merges everything). Applies to this open.
    /// </summary>
    public int MergeFactor { get; init; } = 4;

    /// <summary>
    /// Keep the newest seal's records in the write-ahead log until the next seal (instead of dropping them once
    /// the segment holds them), so that <see cref="EmbeddedVectorStore.Repair"/> can rebuild the newest segment
    /// from the log if its files are lost or damaged. Costs up to one seal's worth of log space (vectors and
    /// payloads of <see cref="SealThreshold"/> entries). Compaction still empties the log. Default false. Applies
    /// to this open.
    /// </summary>
    public bool KeepNewestSealInLog { get; init; }

    /// <summary>Open without the write lock: other processes may read the same store while one writes. Default false.</summary>
    public bool ReadOnly { get; init; }

    /// <summary>
    /// Read-only opens: before each search, check (two file-time reads) whether the writer changed the manifest or
    /// committed to the log, and <see cref="EmbeddedVectorStore.Refresh"/> when it did, so searches see other
    /// processes' commits without reopening. Default false: call Refresh yourself.
    /// </summary>
    public bool AutoRefresh { get; init; }

    /// <summary>
    /// Whether searches tell the operating system, before reading, which pages of the segment files they will read
    /// (the probed cells' codes and the shortlisted rows), so pages that are on disk are read together rather than
    /// one page fault at a time. Null (the default): decided by measurement as the store is searched (advice starts
    /// when re-ranking's reads are seen waiting on the disk and stops when they no longer do). True: always; false:
    /// never. No effect where the OS offers no such advice (Windows).
    /// </summary>
    public bool? ReadAhead { get; init; }

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

    /// <summary>For tests: log2 of a new store's log file size (default <see cref="Storage.Manifest.NewLogSegmentBits"/>; at least 22, FASTER's page).</summary>
    internal int LogSegmentBits { get; init; } = Storage.Manifest.NewLogSegmentBits;

    /// <summary>For tests: runs on the merge thread after a background merge wrote its segment, before it takes the writer lock.</summary>
    internal Action? MergeWrittenHook { get; init; }

    /// <summary>For tests: runs in <see cref="EmbeddedVectorStore.Compact"/> after its seal, before the merged segment is written.</summary>
    internal Action? CompactionHook { get; init; }

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
        FieldTypes.ValidateSchema(Fields);
        if (Dimension < 1) throw new ArgumentOutOfRangeException(nameof(Dimension), Dimension, "Set Dimension to the length of your vectors.");
        if (!Enum.IsDefined(Metric)) throw new ArgumentOutOfRangeException(nameof(Metric), Metric, "Unknown metric.");
        if (NList < 1) throw new ArgumentOutOfRangeException(nameof(NList), NList, "nlist must be at least 1.");
        if (M < 0) throw new ArgumentOutOfRangeException(nameof(M), M, "m must be positive, or 0 for the default.");
        if (!Enum.IsDefined(Codes)) throw new ArgumentOutOfRangeException(nameof(Codes), Codes, "Unknown code layout.");
        if (!Enum.IsDefined(Rows)) throw new ArgumentOutOfRangeException(nameof(Rows), Rows, "Unknown row encoding.");
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
        if (MergeFactor < 0 || MergeFactor == 1) throw new ArgumentOutOfRangeException(nameof(MergeFactor), MergeFactor, "Use 0 (no background merging) or at least 2.");
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
/// <remarks>
/// The defaults are the one place the store's search defaults live (the <c>ev</c> tool and connectors take them
/// from here). They were chosen on the public set (60,629 × 384, nlist 1024, pq8 m 48, float16 rows) so that
/// recall@10 is at least 0.95 unfiltered and with a field filter at every selectivity from 0.01% to 100%:
/// nprobe 48 and re-ranking of 200 candidates give 0.958 unfiltered, where nprobe 16 without re-ranking gave
/// 0.73 (and 0.92 with rerank 100) at about 1.5–2× the QPS. See docs/benchmarks-filters.md.
/// </remarks>
public sealed record StoreSearchOptions
{
    /// <summary>The default <see cref="NProbe"/>.</summary>
    public const int DefaultNProbe = 48;

    /// <summary>The default <see cref="Rerank"/> of a store that keeps its vectors.</summary>
    public const int DefaultRerank = 200;

    /// <summary>The default <see cref="ExactScanBelow"/>.</summary>
    public const int DefaultExactScanBelow = 4096;

    /// <summary>The default settings.</summary>
    public static StoreSearchOptions Default { get; } = new();

    /// <summary>Inverted-file cells scanned (default <see cref="DefaultNProbe"/>, 48; clamped to nlist). A field filter widens it (see <see cref="Where"/>).</summary>
    public int NProbe { get; init; } = DefaultNProbe;

    /// <summary>
    /// Re-rank the best <c>Rerank</c> candidates by exact distance from the stored rows (0: no re-ranking; a positive
    /// value needs <see cref="EmbeddedVectorStoreOptions.StoreVectors"/>). Null, the default: <see cref="DefaultRerank"/>
    /// (200) when the store keeps its vectors, 0 when it does not.
    /// </summary>
    public int? Rerank { get; init; }

    /// <summary>The re-ranking a search does in a store that does (or does not) keep its vectors.</summary>
    internal int RerankFor(bool storeVectors) => Rerank ?? (storeVectors ? DefaultRerank : 0);

    /// <summary>
    /// Only ids for which this returns true can be returned. It runs on search threads: keep it fast and thread-safe.
    /// Its match count is unknown, so a search with it probes cells past <see cref="NProbe"/> until k candidates
    /// pass (or <see cref="MaxProbes"/> cells are probed).
    /// </summary>
    public Func<long, bool>? Filter { get; init; }

    /// <summary>
    /// Only entries whose metadata fields (and id) pass this filter can be returned; see <see cref="EmbeddedVectors.Filter"/>.
    /// The search counts the live matches m first and returns min(k, m) hits: when m is at most
    /// <see cref="ExactScanBelow"/> the matches are scored exactly; otherwise cells are probed nearest first, past
    /// <see cref="NProbe"/> to nprobe × (1/r)^0.6 cells where r is the share of the probed entries that pass (so a
    /// filter passing 10% probes about 4× the cells), and on until k candidates passed. A segment keeps the matches
    /// of its last 8 distinct filters, so a repeated filter costs one pass over n / 64 words a search.
    /// </summary>
    public Filter? Where { get; init; }

    /// <summary>
    /// With a filter, the most cells probed while fewer than k candidates have passed (0, the default: every cell,
    /// which is what guarantees min(k, matches) hits). The search still stops after <see cref="NProbe"/> cells once
    /// k candidates have passed.
    /// </summary>
    public int MaxProbes { get; init; }

    /// <summary>
    /// When a <see cref="Where"/> filter matches at most this many live entries, they are scored exactly (from their
    /// full rows) instead of probing cells: exact results at a cost proportional to the matches. Default
    /// <see cref="DefaultExactScanBelow"/> (4096); 0 turns the exact plan off.
    /// </summary>
    public int ExactScanBelow { get; init; } = DefaultExactScanBelow;

    internal void Validate()
    {
        if (MaxProbes < 0) throw new ArgumentOutOfRangeException(nameof(MaxProbes), MaxProbes, "max probes must be 0 (every cell) or positive.");
        if (ExactScanBelow < 0) throw new ArgumentOutOfRangeException(nameof(ExactScanBelow), ExactScanBelow, "the exact-scan threshold must be 0 (off) or positive.");
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
    /// <summary>Entries in the fullest inverted list (cell).</summary>
    public int LargestList { get; init; }
    /// <summary>Mean entries a list.</summary>
    public double MeanList { get; init; }
    /// <summary>Lists with no entry.</summary>
    public int EmptyLists { get; init; }
    /// <summary>Mean squared distance of the training sample to its nearest coarse centroid (0 when unknown, e.g. stores trained by older versions).</summary>
    public double TrainingError { get; init; }
    /// <summary>The same for the vectors added most recently (about the last 2,000) in this open; null until that many have been added.</summary>
    public double? RecentError { get; init; }
    /// <summary>
    /// True when recent vectors fit the cells clearly worse than the training sample did (<see cref="RecentError"/> over
    /// 1.25 × <see cref="TrainingError"/>), or the largest list holds over 20 × the mean: recall at equal nprobe is then
    /// decaying, and <see cref="EmbeddedVectorStore.Retrain"/> restores it.
    /// </summary>
    public bool RetrainAdvised { get; init; }
    /// <summary>Bytes on disk a live entry, by part (each part's files divided by the live count).</summary>
    public BytesPerEntry BytesPerEntry { get; init; } = new();
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
    /// <summary>How segments keep the re-rank vectors: <c>f32</c>, <c>f16</c> or <c>i8</c>.</summary>
    public string Rows { get; init; } = "f32";
}

/// <summary>Bytes on disk a live entry takes, by part, as <see cref="StoreInfo.BytesPerEntry"/> reports them.</summary>
public sealed record BytesPerEntry
{
    /// <summary>PQ codes and the segments' list directories and headers.</summary>
    public double Codes { get; init; }
    /// <summary>Full-precision rows kept for re-ranking (<c>.evv</c>).</summary>
    public double Rows { get; init; }
    /// <summary>Ids, payload addresses and the sorted id index of the segments (20 bytes an entry; 32 in segments written before format version 3).</summary>
    public double Ids { get; init; }
    /// <summary>Payloads kept in the segments' payload files (<c>.evp</c>), with their 8-byte record headers.</summary>
    public double Payloads { get; init; }
    /// <summary>The log: write-ahead copies not yet sealed (or not yet given back), and the payloads of segments written before payload files.</summary>
    public double Log { get; init; }
    /// <summary>Everything else: manifest, quantizers, deletion bitmaps.</summary>
    public double Other { get; init; }
}
