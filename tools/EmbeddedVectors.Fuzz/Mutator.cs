using System.Buffers.Binary;
using System.Text;

namespace EmbeddedVectors.Fuzz;

/// <summary>
/// Coverage-blind mutations of a seed file: bit flips, byte runs, truncation, extension, swapped and duplicated
/// blocks, extreme int32/int64 values written at the file kind's header field offsets (and at random aligned
/// offsets), and extreme numbers written over digit runs of text formats. One to four are stacked per input;
/// then, for half the inputs of a checksummed kind, the checksums are recomputed (<see cref="FileKinds.Resign"/>)
/// so the mutation reaches the parser behind the checksum instead of stopping at it.
/// </summary>
internal static class Mutator
{
    private static readonly long[] ExtremeValues =
    [
        0, 1, -1, 2, 7, 8, 63, 64, 255, 256, 4095, 4096, 4097, 65535, 65536, short.MaxValue, ushort.MaxValue + 1L,
        int.MaxValue, int.MinValue, int.MaxValue + 1L, uint.MaxValue, 1L << 32, (1L << 32) + 1, 1L << 40, 1L << 62,
        long.MaxValue, long.MinValue, long.MaxValue - 7, int.MaxValue / 2, 0x3FFF_FFFF, 0x7FFF_FFC7,
    ];

    private static readonly string[] ExtremeNumbers =
    [
        "0", "-1", "1", "-0", "2147483647", "2147483648", "-2147483649", "4294967296", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "99999999999999999999999", "1e308", "1e999", "-1e-999", "NaN",
        "0.5", "65536", "4096", "",
    ];

    /// <summary>The mutated copy of <paramref name="seed"/> for <paramref name="rng"/>'s next draws.</summary>
    public static byte[] Mutate(byte[] seed, FileKind kind, Random rng)
    {
        byte[] bytes = (byte[])seed.Clone();
        int steps = 1 + (rng.Next(8) == 0 ? rng.Next(4) : 0);
        for (int s = 0; s < steps; s++) bytes = MutateOnce(bytes, kind, rng);
        if (FileKinds.HasChecksums(kind) && rng.Next(2) == 0) FileKinds.Resign(kind, bytes);
        return bytes;
    }

    private static byte[] MutateOnce(byte[] bytes, FileKind kind, Random rng)
    {
        int n = bytes.Length;
        switch (rng.Next(10))
        {
            case 0: // bit flips
                if (n == 0) return bytes;
                for (int i = 1 + rng.Next(8); i > 0; i--) bytes[Offset(bytes, kind, rng)] ^= (byte)(1 << rng.Next(8));
                return bytes;
            case 1: // a run of one byte value
            {
                if (n == 0) return bytes;
                int at = Offset(bytes, kind, rng), length = Math.Min(n - at, 1 + rng.Next(rng.Next(2) == 0 ? 8 : 256));
                byte value = rng.Next(3) switch { 0 => 0, 1 => 0xFF, _ => (byte)rng.Next(256) };
                bytes.AsSpan(at, length).Fill(value);
                return bytes;
            }
            case 2: // truncation: near the end, at a header boundary, or anywhere
            {
                int length = rng.Next(3) switch
                {
                    0 => Math.Max(0, n - 1 - rng.Next(Math.Min(n, 64) + 1)),
                    1 => Math.Min(n, rng.Next(Math.Min(n, 4200) + 1)),
                    _ => rng.Next(n + 1),
                };
                return bytes[..length];
            }
            case 3: // extension with zeros, 0xFF or random bytes
            {
                int extra = 1 + rng.Next(rng.Next(2) == 0 ? 16 : 8192);
                var longer = new byte[n + extra];
                bytes.CopyTo(longer, 0);
                int fill = rng.Next(3);
                if (fill == 1) longer.AsSpan(n).Fill(0xFF);
                else if (fill == 2) rng.NextBytes(longer.AsSpan(n));
                return longer;
            }
            case 4: // two blocks swapped
            {
                if (n < 2) return bytes;
                int length = 1 + rng.Next(Math.Min(n / 2, 512));
                int a = rng.Next(n - length + 1), b = rng.Next(n - length + 1);
                var block = bytes.AsSpan(a, length).ToArray();
                bytes.AsSpan(b, length).CopyTo(bytes.AsSpan(a));
                block.CopyTo(bytes.AsSpan(b));
                return bytes;
            }
            case 5: // a block duplicated: over another place, or inserted
            {
                if (n < 1) return bytes;
                int length = 1 + rng.Next(Math.Min(n, 1024));
                int from = rng.Next(n - length + 1), to = rng.Next(n + 1);
                var block = bytes.AsSpan(from, length).ToArray();
                if (rng.Next(2) == 0 && to + length <= n)
                {
                    block.CopyTo(bytes.AsSpan(to));
                    return bytes;
                }
                var longer = new byte[n + length];
                bytes.AsSpan(0, to).CopyTo(longer);
                block.CopyTo(longer.AsSpan(to));
                bytes.AsSpan(to).CopyTo(longer.AsSpan(to + length));
                return longer;
            }
            case 6:
            case 7: // extreme counts and offsets at header fields
                return WriteExtreme(bytes, kind, rng);
            case 8: // numbers in text (JSON manifest, .npy header, JSONL)
                return FileKinds.IsText(kind) ? ReplaceNumber(bytes, rng) : WriteExtreme(bytes, kind, rng);
            default: // random bytes
            {
                if (n == 0) return bytes;
                int at = Offset(bytes, kind, rng);
                rng.NextBytes(bytes.AsSpan(at, Math.Min(n - at, 1 + rng.Next(16))));
                return bytes;
            }
        }
    }

    /// <summary>A position to mutate: half the time inside the kind's header, where the parsing decisions are.</summary>
    private static int Offset(byte[] bytes, FileKind kind, Random rng)
    {
        int header = Math.Min(bytes.Length, FileKinds.HeaderBytes(kind, bytes));
        return rng.Next(2) == 0 && header > 0 ? rng.Next(header) : rng.Next(bytes.Length);
    }

    private static byte[] WriteExtreme(byte[] bytes, FileKind kind, Random rng)
    {
        var fields = FileKinds.FieldOffsets(kind, bytes);
        int at;
        bool wide;
        if (fields.Count > 0 && rng.Next(4) != 0)
            (at, wide) = fields[rng.Next(fields.Count)];
        else
        {
            wide = rng.Next(2) == 0;
            int size = wide ? 8 : 4;
            if (bytes.Length < size) return bytes;
            at = rng.Next(bytes.Length - size + 1) & ~(size - 1);
        }
        long value = ExtremeValues[rng.Next(ExtremeValues.Length)];
        if (rng.Next(4) == 0) value = bytes.Length + rng.Next(-16, 17); // near the file's own length
        if (rng.Next(8) == 0) value = -value;
        if (wide && at + 8 <= bytes.Length) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(at), value);
        else if (at + 4 <= bytes.Length) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), unchecked((int)value));
        return bytes;
    }

    /// <summary>Replaces a run of digits (a JSON number, a shape, a count) with an extreme number.</summary>
    private static byte[] ReplaceNumber(byte[] bytes, Random rng)
    {
        var runs = new List<(int Start, int End)>();
        for (int i = 0; i < bytes.Length; i++)
        {
            if (!char.IsAsciiDigit((char)bytes[i])) continue;
            int start = i;
            while (i < bytes.Length && (char.IsAsciiDigit((char)bytes[i]) || bytes[i] is (byte)'.' or (byte)'-' or (byte)'e')) i++;
            runs.Add((start, i));
        }
        if (runs.Count == 0) return bytes;
        var (from, to) = runs[rng.Next(runs.Count)];
        byte[] number = Encoding.ASCII.GetBytes(ExtremeNumbers[rng.Next(ExtremeNumbers.Length)]);
        return [.. bytes.AsSpan(0, from), .. number, .. bytes.AsSpan(to)];
    }
}
