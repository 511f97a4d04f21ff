using System.Buffers.Binary;
using EmbeddedVectors.Storage;
using FASTER.core;

namespace EmbeddedVectors.Fuzz;

/// <summary>The kinds of file the harness mutates, one a reader format.</summary>
internal enum FileKind
{
    Manifest, Quantizer, Rotation, CoarseGraph, RowParameters, SegmentCodes, SegmentVectors, SegmentPayloads, SegmentFields, Deletions,
    LogSegment, LogCommit, Fvecs, Ivecs, Bvecs, Npy, Jsonl,
}

/// <summary>
/// What the mutator knows of each kind: its header's length and int32/int64 field offsets (where extreme values
/// go), whether it is text, and how to recompute its checksums after a mutation. The layouts are the ones in
/// src/EmbeddedVectors/Storage (and docs/format); the harness reads them from the same constants where they are
/// visible.
/// </summary>
internal static class FileKinds
{
    /// <summary>The kind of the store or import file at <paramref name="relativePath"/>, or null for a file no reader of ours parses.</summary>
    public static FileKind? Of(string relativePath)
    {
        string name = Path.GetFileName(relativePath);
        if (name == Manifest.FileName) return FileKind.Manifest;
        if (name == QuantizerFile.FileName) return FileKind.Quantizer;
        if (name == RotationFile.FileName) return FileKind.Rotation;
        if (name == CoarseGraphFile.FileName) return FileKind.CoarseGraph;
        if (name == RowParametersFile.FileName) return FileKind.RowParameters;
        if (name.StartsWith("seg-", StringComparison.Ordinal))
        {
            if (name.EndsWith(".evs", StringComparison.Ordinal)) return FileKind.SegmentCodes;
            if (name.EndsWith(".evv", StringComparison.Ordinal)) return FileKind.SegmentVectors;
            if (name.EndsWith(".evp", StringComparison.Ordinal)) return FileKind.SegmentPayloads;
            if (name.EndsWith(".evf", StringComparison.Ordinal)) return FileKind.SegmentFields;
            if (name.Contains(".del-", StringComparison.Ordinal)) return FileKind.Deletions;
        }
        if (name.StartsWith(FasterPayloadLog.LogFileName + ".", StringComparison.Ordinal)) return FileKind.LogSegment;
        if (name.StartsWith("commit.", StringComparison.Ordinal)) return FileKind.LogCommit;
        return Path.GetExtension(name) switch
        {
            ".fvecs" => FileKind.Fvecs,
            ".ivecs" => FileKind.Ivecs,
            ".bvecs" => FileKind.Bvecs,
            ".npy" => FileKind.Npy,
            ".jsonl" => FileKind.Jsonl,
            _ => null,
        };
    }

    /// <summary>Whether numbers in the file are written as text (the manifest's JSON body, the .npy header, JSONL).</summary>
    public static bool IsText(FileKind kind) => kind is FileKind.Manifest or FileKind.Npy or FileKind.Jsonl;

    /// <summary>Whether <see cref="Resign"/> can recompute checksums of this kind.</summary>
    public static bool HasChecksums(FileKind kind) => kind is not (FileKind.Fvecs or FileKind.Ivecs or FileKind.Bvecs or FileKind.Npy or FileKind.Jsonl);

    private static ChecksummedFile? Layout(FileKind kind) => kind switch
    {
        FileKind.Manifest => Manifest.Layout,
        FileKind.Quantizer => QuantizerFile.Layout,
        FileKind.Rotation => RotationFile.Layout,
        FileKind.CoarseGraph => CoarseGraphFile.Layout,
        FileKind.RowParameters => RowParametersFile.Layout,
        FileKind.SegmentFields => FieldsFile.Layout,
        _ => null,
    };

    /// <summary>Bytes of the kind's header (where half the mutations land).</summary>
    public static int HeaderBytes(FileKind kind, byte[] file) => kind switch
    {
        FileKind.SegmentCodes or FileKind.SegmentVectors => SegmentHeader.RowEncodingOffset + 4,
        FileKind.SegmentPayloads or FileKind.Deletions => 64,
        FileKind.LogSegment => 256,
        FileKind.Npy => 128,
        _ when Layout(kind) is { } layout => layout.HeaderSize + (kind == FileKind.Manifest ? file.Length : 0),
        _ => 64,
    };

    /// <summary>Offsets of the header's integer fields, each with whether it is 64-bit.</summary>
    public static List<(int Offset, bool Wide)> FieldOffsets(FileKind kind, byte[] file)
    {
        var fields = new List<(int, bool)>();
        switch (kind)
        {
            case FileKind.SegmentCodes:
            case FileKind.SegmentVectors:
                fields.AddRange([(SegmentHeader.VersionOffset, false), (SegmentHeader.HeaderSizeOffset, false), (SegmentHeader.LayoutOffset, false),
                    (SegmentHeader.NListOffset, false), (SegmentHeader.CodeSizeOffset, false), (SegmentHeader.DimensionOffset, false),
                    (SegmentHeader.CountOffset, true), (SegmentHeader.SegmentNumberOffset, true), (SegmentHeader.FlagsOffset, true),
                    (SegmentHeader.RowEncodingOffset, false)]);
                for (int r = 0; r < 5; r++)
                {
                    fields.Add((SegmentHeader.RegionsOffset + r * SegmentHeader.RegionEntrySize, true));
                    fields.Add((SegmentHeader.RegionsOffset + r * SegmentHeader.RegionEntrySize + 8, true));
                }
                // The directory's list starts and counts, where the (possibly mutated) header says the directory is.
                if (kind == FileKind.SegmentCodes && RegionAt(file, SegmentHeader.DirectoryRegion) is { } directory
                    && directory.Offset >= 0 && directory.Offset <= file.Length && directory.Length >= 0)
                    for (long at = directory.Offset; at - directory.Offset + 16 <= directory.Length && at + 16 <= file.Length; at += 8)
                        fields.Add(((int)at, true)); // list starts and counts
                break;
            case FileKind.SegmentPayloads:
                fields.AddRange([(8, false), (12, false), (16, true), (24, true), (32, true), (64, false), (68, false)]);
                break;
            case FileKind.Deletions:
                fields.AddRange([(8, false), (12, false), (16, true), (24, true), (32, true), (40, true)]);
                break;
            case FileKind.LogSegment:
                for (int at = 64; at < Math.Min(file.Length, 1024); at += 4) fields.Add((at, false));
                break;
            case FileKind.Fvecs or FileKind.Ivecs or FileKind.Bvecs:
                fields.Add((0, false));
                int rowBytes = file.Length >= 4 ? 4 + BinaryPrimitives.ReadInt32LittleEndian(file) * (kind == FileKind.Bvecs ? 1 : 4) : 0;
                if (rowBytes > 4 && rowBytes < file.Length) fields.Add((rowBytes, false));
                if (rowBytes > 4 && file.Length > rowBytes) fields.Add((file.Length / rowBytes / 2 * rowBytes, false));
                break;
            case FileKind.Npy:
                fields.Add((8, false));
                break;
            case FileKind.LogCommit: // record length, then FASTER's recovery info: version, checksum, begin, until, commit number, iterators, cookie length
                fields.AddRange([(0, false), (4, false), (16, true), (24, true), (32, true), (40, false), (44, false)]);
                break;
            default:
                if (Layout(kind) is { } layout)
                {
                    fields.Add((ChecksummedFile.VersionOffset, false));
                    for (int f = 0; f < layout.FieldCount; f++) fields.Add((ChecksummedFile.FieldOffset(f), false));
                }
                break;
        }
        return fields;
    }

    /// <summary>Recomputes, in place, every checksum of <paramref name="file"/> that can be found in it, so that readers get past them.</summary>
    public static void Resign(FileKind kind, byte[] file)
    {
        switch (kind)
        {
            case FileKind.SegmentCodes:
            case FileKind.SegmentVectors:
                if (file.Length < SegmentHeader.Size) return;
                for (int r = 0; r < 5; r++)
                    if (RegionAt(file, r) is { } region && region.Offset >= 0 && region.Length >= 0 && region.Offset <= file.Length && region.Length <= file.Length - region.Offset)
                        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(SegmentHeader.RegionsOffset + r * SegmentHeader.RegionEntrySize + 16),
                            FileHeaders.Checksum(file.AsSpan((int)region.Offset, (int)region.Length)));
                BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(SegmentHeader.ChecksumOffset), FileHeaders.Checksum(file.AsSpan(0, SegmentHeader.ChecksumOffset)));
                return;
            case FileKind.SegmentPayloads:
                if (file.Length < 64) return;
                BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(40), FileHeaders.Checksum(file.AsSpan(64)));
                BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(56), FileHeaders.Checksum(file.AsSpan(0, 56)));
                return;
            case FileKind.Deletions:
                if (file.Length < DeletionBitmap.HeaderSize) return;
                BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(DeletionBitmap.BitmapChecksumOffset), FileHeaders.Checksum(file.AsSpan(DeletionBitmap.HeaderSize)));
                BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(DeletionBitmap.HeaderChecksumOffset), FileHeaders.Checksum(file.AsSpan(0, DeletionBitmap.HeaderChecksumOffset)));
                return;
            case FileKind.LogSegment:
                ResignLogEntries(file);
                return;
            case FileKind.LogCommit:
                ResignCommit(file);
                return;
            default:
                if (Layout(kind) is not { } layout || file.Length < layout.HeaderSize) return;
                BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(layout.BodyChecksumOffset), FileHeaders.Checksum(file.AsSpan(layout.HeaderSize)));
                if (layout.HeaderChecksumOffset >= 0)
                    BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(layout.HeaderChecksumOffset), FileHeaders.Checksum(file.AsSpan(0, layout.HeaderChecksumOffset)));
                return;
        }
    }

    /// <summary>
    /// FASTER's commit record checksum (begin ^ until ^ commit number ^ iterator count ^ cookie length ^ cookie
    /// checksum), for records without iterators or cookie as the store writes them.
    /// </summary>
    private static void ResignCommit(byte[] file)
    {
        if (file.Length < 48) return;
        var record = file.AsSpan(4);
        long checksum = BinaryPrimitives.ReadInt64LittleEndian(record[12..]) ^ BinaryPrimitives.ReadInt64LittleEndian(record[20..])
            ^ BinaryPrimitives.ReadInt64LittleEndian(record[28..]) ^ BinaryPrimitives.ReadInt32LittleEndian(record[36..]) ^ BinaryPrimitives.ReadInt32LittleEndian(record[40..]);
        BinaryPrimitives.WriteInt64LittleEndian(record[4..], checksum);
    }

    private static Region? RegionAt(byte[] file, int region)
    {
        int at = SegmentHeader.RegionsOffset + region * SegmentHeader.RegionEntrySize;
        if (file.Length < at + SegmentHeader.RegionEntrySize) return null;
        return new Region(BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(at)), BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan(at + 8)), 0);
    }

    /// <summary>
    /// FASTER's per-entry checksums, recomputed along the chain of entries from the log's first address (64): an
    /// 8-byte XorBytes checksum, a 4-byte length, the entry, padded to 8 bytes; a zero length pads to the next page.
    /// </summary>
    private static unsafe void ResignLogEntries(byte[] file)
    {
        const int FirstAddress = 64, PageBytes = 1 << 22;
        long at = FirstAddress;
        while (at + FasterEntryHeader.Bytes <= file.Length)
        {
            int length = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan((int)at + 8));
            if (length == 0)
            {
                at = (at / PageBytes + 1) * PageBytes;
                continue;
            }
            int body = Math.Abs(length == int.MinValue ? 0 : length);
            if (at + FasterEntryHeader.Bytes + body > file.Length) return;
            fixed (byte* p = file)
                BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan((int)at), Utility.XorBytes(p + at + 8, body + 4));
            at += (FasterEntryHeader.Bytes + body + 7) & ~7;
        }
    }
}
