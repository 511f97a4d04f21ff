using System.Runtime.InteropServices;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Storage;

/// <summary>
/// The graph over the coarse centroids (<see cref="CentroidGraph"/>) of a store with a large nlist: written at
/// training (or at the first writable open of a store trained before graphs existed) and read whole at open. The
/// manifest's <c>coarse_graph</c> field says whether the store has one; see docs/format/quantizer.md.
/// </summary>
/// <remarks>
/// Layout, little-endian, a <see cref="ChecksummedFile"/> with eight fields and a header checksum: magic
/// "EVCGRAPH" · format version · metric · dimension · nlist · M · entry point · upper-level slots · centroid
/// checksum low and high halves (XxHash3-64 of the centroids as stored in quantizer.evq) · body checksum · header
/// checksum · levels int32 × nlist · level-0 neighbours int32 × nlist × 2M · upper-level neighbours int32 ×
/// upper-level slots, −1 in unused slots.
/// </remarks>
internal static class CoarseGraphFile
{
    public const string FileName = "coarse-graph.evq";
    public const int FormatVersion = 1;

    internal static readonly ChecksummedFile Layout = new("coarse graph file", "EVCGRAPH"u8, FormatVersion, fieldCount: 8, hasHeaderChecksum: true, bodyName: "graph");
    private const int MetricField = 0, DimensionField = 1, NListField = 2, MField = 3, EntryField = 4, UpperField = 5, HashLowField = 6, HashHighField = 7;

    public static void Write(string directory, Metric metric, CoarseQuantizer coarse)
    {
        var graph = coarse.Graph ?? throw new InvalidOperationException("The coarse quantizer has no graph.");
        ulong hash = CentroidHash(coarse);
        Span<int> fields = stackalloc int[Layout.FieldCount];
        fields[MetricField] = (int)metric;
        fields[DimensionField] = coarse.Dimension;
        fields[NListField] = coarse.NList;
        fields[MField] = graph.M;
        fields[EntryField] = graph.EntryPoint;
        fields[UpperField] = graph.Upper.Length;
        fields[HashLowField] = (int)(uint)hash;
        fields[HashHighField] = (int)(uint)(hash >> 32);
        var body = new int[graph.Levels.Length + graph.Level0.Length + graph.Upper.Length];
        graph.Levels.CopyTo(body, 0);
        graph.Level0.CopyTo(body, graph.Levels.Length);
        graph.Upper.CopyTo(body, graph.Levels.Length + graph.Level0.Length);
        Layout.Write(Path.Combine(directory, FileName), fields, MemoryMarshal.AsBytes(body.AsSpan()));
    }

    /// <summary>Reads the graph of <paramref name="coarse"/>, checking that it belongs to these centroids and that every neighbour id is in range.</summary>
    /// <exception cref="CorruptFileException">The file is missing, damaged, or belongs to other centroids.</exception>
    public static CentroidGraph Read(string directory, Manifest manifest, CoarseQuantizer coarse)
    {
        string path = Path.Combine(directory, FileName);
        var file = Layout.Read(path, "missing, although the manifest says the store has a coarse graph.");
        var metric = (Metric)file.Field(MetricField);
        int dimension = file.Field(DimensionField), nlist = file.Field(NListField), m = file.Field(MField), upper = file.Field(UpperField);
        ulong hash = (uint)file.Field(HashLowField) | (ulong)(uint)file.Field(HashHighField) << 32;
        if (metric != manifest.Metric || dimension != manifest.Dimension || nlist != manifest.NList)
            throw new CorruptFileException(path, $"does not match the manifest (metric {metric}, dimension {dimension}, nlist {nlist}).");
        if (hash != CentroidHash(coarse)) throw new CorruptFileException(path, "was built over other centroids than those in quantizer.evq.");
        if (m < 2 || m > 1024 || upper < 0) throw new CorruptFileException(path, $"invalid value: M {m}, upper-level slots {upper}.");
        long ints = nlist + (long)nlist * 2 * m + upper;
        var values = MemoryMarshal.Cast<byte, int>(file.Body(4 * ints));
        var levels = values[..nlist].ToArray();
        var level0 = values.Slice(nlist, nlist * 2 * m).ToArray();
        var upperSlots = values[(nlist + nlist * 2 * m)..].ToArray();
        var graph = coarse.GraphFromParts(m, levels, level0, upperSlots, file.Field(EntryField), out string? problem);
        return graph ?? throw new CorruptFileException(path, $"invalid graph: {problem}.");
    }

    /// <summary>
    /// Gives <paramref name="coarse"/> its graph at open: the stored one when the manifest names it; else, when nlist
    /// reaches <paramref name="minNList"/>, a new one, persisted (and named by a new manifest) unless the store is
    /// read-only. Returns the manifest in force.
    /// </summary>
    /// <param name="storeDirectory">The store (where the manifest is).</param>
    /// <param name="manifest">The manifest read at open.</param>
    /// <param name="coarse">The coarse quantizer read at open.</param>
    /// <param name="minNList">The nlist from which a store builds a graph.</param>
    /// <param name="readOnly">The open is read-only: a new graph stays in memory.</param>
    public static Manifest AttachAtOpen(string storeDirectory, Manifest manifest, CoarseQuantizer coarse, int minNList, bool readOnly)
    {
        string directory = manifest.QuantizerPath(storeDirectory); // the graph lives beside the quantizer files
        if (manifest.CoarseGraph)
        {
            coarse.AttachGraph(Read(directory, manifest, coarse));
            return manifest;
        }
        if (coarse.NList < minNList) return manifest;
        coarse.BuildGraph();
        if (readOnly) return manifest;
        Write(directory, manifest.Metric, coarse);
        var updated = manifest with { CoarseGraph = true, Generation = manifest.Generation + 1 };
        updated.Write(storeDirectory);
        return updated;
    }

    private static ulong CentroidHash(CoarseQuantizer coarse) => FileHeaders.Checksum(MemoryMarshal.AsBytes(coarse.Centroids));
}
