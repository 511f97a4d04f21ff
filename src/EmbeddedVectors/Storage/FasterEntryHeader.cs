using System.Buffers.Binary;
using FASTER.core;

namespace EmbeddedVectors.Storage;

/// <summary>
/// FasterLog's per-entry header as <see cref="FasterPayloadLog"/> reads it straight from the segment files.
/// </summary>
/// <remarks>
/// Tied to Microsoft.FASTER.Core 2.6.5 internals: with <see cref="LogChecksumType.PerEntry"/> an entry starts with
/// an 8-byte checksum, then a 4-byte length (0 is page padding, a negative length marks one of FASTER's commit
/// records), then the entry, and the checksum is FASTER's <see cref="Utility.XorBytes"/> over the length and the
/// entry. Nothing in FASTER's public API promises this layout; <see cref="FasterPayloadLog.Open(string, bool)"/>
/// checks <see cref="FasterLog.HeaderSize"/> against <see cref="Bytes"/>, and this is the one file to change if a
/// FASTER upgrade (or another log) frames entries differently.
/// </remarks>
internal static class FasterEntryHeader
{
    /// <summary>Bytes of the header: checksum (8), then length (4).</summary>
    public const int Bytes = 12;

    private const int LengthOffset = 8;

    /// <summary>The entry length in <paramref name="header"/> (at least <see cref="Bytes"/> bytes).</summary>
    public static int Length(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadInt32LittleEndian(header.Slice(LengthOffset));

    /// <summary>
    /// Whether the checksum at the start of <paramref name="entry"/> (header plus <paramref name="length"/> bytes of
    /// entry) matches FASTER's XorBytes over the length field and the entry.
    /// </summary>
    public static unsafe bool ChecksumMatches(byte[] entry, int length)
    {
        ulong checksum;
        fixed (byte* p = entry)
            checksum = Utility.XorBytes(p + LengthOffset, length + 4);
        return checksum == BinaryPrimitives.ReadUInt64LittleEndian(entry);
    }
}
