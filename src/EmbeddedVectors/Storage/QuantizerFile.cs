using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Storage;

/// <summary>
/// The trained quantizers of a store: coarse centroids and PQ codebooks, written once at training and read whole
/// at open (a few MiB at most), with a checksum over everything.
/// </summary>
/// <remarks>
/// Layout, little-endian: magic "EVQUANTZ" (0–7) · format version u32 (8–11) · metric u32 (12–15) · dimension u32
/// (16–19) · nlist u32 (20–23) · m u32 (24–27) · code layout u32 (28–31) · body checksum XxHash3-64 over bytes 48..end
/// (32–39) · header checksum XxHash3-64 over bytes 0–39 (40–47) · centroids nlist × dimension f32 · codebooks
/// m × 2^bits × (dimension / m) f32 (256 centroids for pq8, 16 for pq4fs).
/// </remarks>
internal static class QuantizerFile
{
    public const string FileName = "quantizer.evq";
    public const int FormatVersion = 1;
    private const int HeaderSize = 48;
    private static readonly byte[] Magic = "EVQUANTZ"u8.ToArray();

    public static void Write(string directory, Metric metric, CoarseQuantizer coarse, ProductQuantizer pq, CodeLayout layout)
    {
        var centroids = MemoryMarshal.AsBytes(coarse.Centroids);
        var codebooks = MemoryMarshal.AsBytes(pq.Codebooks);
        var file = new byte[HeaderSize + centroids.Length + codebooks.Length];
        Magic.CopyTo(file, 0);
        var header = file.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], (int)metric);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], coarse.Dimension);
        BinaryPrimitives.WriteInt32LittleEndian(header[20..], coarse.NList);
        BinaryPrimitives.WriteInt32LittleEndian(header[24..], pq.SubQuantizers);
        BinaryPrimitives.WriteInt32LittleEndian(header[28..], (int)layout);
        centroids.CopyTo(file.AsSpan(HeaderSize));
        codebooks.CopyTo(file.AsSpan(HeaderSize + centroids.Length));
        BinaryPrimitives.WriteUInt64LittleEndian(header[32..], XxHash3.HashToUInt64(file.AsSpan(HeaderSize)));
        BinaryPrimitives.WriteUInt64LittleEndian(header[40..], XxHash3.HashToUInt64(file.AsSpan(0, 40)));
        DurableFile.ReplaceAtomically(Path.Combine(directory, FileName), file);
    }

    public static (CoarseQuantizer Coarse, ProductQuantizer Pq) Read(string directory, Manifest manifest)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) throw new CorruptFileException(path, "missing, although the manifest says the store is trained.");
        byte[] file = File.ReadAllBytes(path);
        if (file.Length < HeaderSize || !file.AsSpan(0, 8).SequenceEqual(Magic))
            throw new CorruptFileException(path, "not an EmbeddedVectors quantizer file (wrong magic number or shorter than its header).");
        var header = file.AsSpan(0, HeaderSize);
        if (XxHash3.HashToUInt64(header[..40]) != BinaryPrimitives.ReadUInt64LittleEndian(header[40..]))
            throw new CorruptFileException(path, "header checksum mismatch.");
        int version = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        if (version > FormatVersion)
            throw new CorruptFileException(path, $"written by a newer EmbeddedVectors (format version {version}); this build reads version {FormatVersion}.");
        var metric = (Metric)BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
        int dimension = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
        int nlist = BinaryPrimitives.ReadInt32LittleEndian(header[20..]);
        int m = BinaryPrimitives.ReadInt32LittleEndian(header[24..]);
        var layout = (CodeLayout)BinaryPrimitives.ReadInt32LittleEndian(header[28..]);
        if (metric != manifest.Metric || dimension != manifest.Dimension || nlist != manifest.NList || m != manifest.M || layout != manifest.CodeLayout)
            throw new CorruptFileException(path, $"does not match the manifest (metric {metric}, dimension {dimension}, nlist {nlist}, m {m}, layout {layout}).");
        int bits = layout == CodeLayout.Pq4FastScan ? 4 : 8;
        long expected = HeaderSize + 4L * nlist * dimension + 4L * (1 << bits) * dimension;
        if (file.Length != expected) throw new CorruptFileException(path, $"truncated or padded: {file.Length} bytes, expected {expected}.");
        if (XxHash3.HashToUInt64(file.AsSpan(HeaderSize)) != BinaryPrimitives.ReadUInt64LittleEndian(header[32..]))
            throw new CorruptFileException(path, "body checksum mismatch: the centroids or codebooks are damaged.");
        var values = MemoryMarshal.Cast<byte, float>(file.AsSpan(HeaderSize));
        var centroids = values[..(nlist * dimension)];
        var codebooks = values[(nlist * dimension)..];
        var ranking = metric.RankingMetric();
        return (CoarseQuantizer.FromCentroids(centroids, nlist, dimension, ranking), ProductQuantizer.FromCodebooks(dimension, m, codebooks, bits));
    }
}
