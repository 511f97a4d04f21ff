using System.Runtime.InteropServices;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Storage;

/// <summary>
/// The trained quantizers of a store: coarse centroids and PQ codebooks, written once at training and read whole
/// at open (a few MiB at most), with a checksum over everything.
/// </summary>
/// <remarks>
/// Layout, little-endian, a <see cref="ChecksummedFile"/> with five fields and a header checksum: magic "EVQUANTZ"
/// (0–7) · format version int32 (8–11) · metric (12–15) · dimension (16–19) · nlist (20–23) · m (24–27) · code
/// layout (28–31) · body checksum XxHash3-64 over bytes 48..end (32–39) · header checksum XxHash3-64 over bytes
/// 0–39 (40–47) · centroids nlist × dimension f32 · codebooks m × 2^bits × (dimension / m) f32 (256 centroids for
/// pq8, 16 for pq4fs).
/// </remarks>
internal static class QuantizerFile
{
    public const string FileName = "quantizer.evq";
    public const int FormatVersion = 1;

    /// <summary>The header; fields are int32s at <see cref="ChecksummedFile.FieldOffset"/> of these indexes.</summary>
    internal static readonly ChecksummedFile Layout = new("quantizer file", "EVQUANTZ"u8, FormatVersion, fieldCount: 5, hasHeaderChecksum: true, bodyName: "centroids or codebooks");
    private const int MetricField = 0, DimensionField = 1, NListField = 2, MField = 3, CodeLayoutField = 4;

    public static void Write(string directory, Metric metric, CoarseQuantizer coarse, ProductQuantizer pq, CodeLayout layout)
    {
        Span<int> fields = stackalloc int[Layout.FieldCount];
        fields[MetricField] = (int)metric;
        fields[DimensionField] = coarse.Dimension;
        fields[NListField] = coarse.NList;
        fields[MField] = pq.SubQuantizers;
        fields[CodeLayoutField] = (int)layout;
        Layout.Write(Path.Combine(directory, FileName), fields, MemoryMarshal.AsBytes(coarse.Centroids), MemoryMarshal.AsBytes(pq.Codebooks));
    }

    public static (CoarseQuantizer Coarse, ProductQuantizer Pq) Read(string directory, Manifest manifest)
    {
        string path = Path.Combine(directory, FileName);
        var file = Layout.Read(path, "missing, although the manifest says the store is trained.");
        var metric = (Metric)file.Field(MetricField);
        int dimension = file.Field(DimensionField);
        int nlist = file.Field(NListField);
        int m = file.Field(MField);
        var layout = (CodeLayout)file.Field(CodeLayoutField);
        if (metric != manifest.Metric || dimension != manifest.Dimension || nlist != manifest.NList || m != manifest.M || layout != manifest.CodeLayout)
            throw new CorruptFileException(path, $"does not match the manifest (metric {metric}, dimension {dimension}, nlist {nlist}, m {m}, layout {layout}).");
        int bits = layout == CodeLayout.Pq4FastScan ? 4 : 8;
        var values = MemoryMarshal.Cast<byte, float>(file.Body(4L * nlist * dimension + 4L * (1 << bits) * dimension));
        var centroids = values[..(nlist * dimension)];
        var codebooks = values[(nlist * dimension)..];
        var ranking = metric.RankingMetric();
        try
        {
            return (CoarseQuantizer.FromCentroids(centroids, nlist, dimension, ranking), ProductQuantizer.FromCodebooks(dimension, m, codebooks, bits));
        }
        catch (ArgumentException e)
        {
            // A body whose checksum matches but holds values no training writes (NaN or infinite centroids).
            throw new CorruptFileException(path, e.Message);
        }
    }
}
