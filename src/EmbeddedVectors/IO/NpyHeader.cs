using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace EmbeddedVectors.IO;

/// <summary>What a .npy header says about the array that follows it.</summary>
/// <param name="ElementType">The element type named by <c>descr</c>.</param>
/// <param name="Rows">The first axis of the shape.</param>
/// <param name="Dimension">The second axis of the shape, or 1 for a 1-D array.</param>
/// <param name="OneDimensional">The shape has a single axis, (n,).</param>
/// <param name="DataOffset">Where the array data starts in the file.</param>
internal readonly record struct NpyHeader(VectorElementType ElementType, long Rows, int Dimension, bool OneDimensional, long DataOffset)
{
    /// <summary>The size of the header <see cref="Format"/> writes: fixed, so it can be rewritten in place once the row count is known.</summary>
    public const int WrittenHeaderBytes = 128;

    // numpy itself refuses headers above 10,000 bytes by default; anything near this is not a real header.
    private const int MaxHeaderBytes = 1 << 20;

    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads and checks the header at the start of <paramref name="stream"/>.</summary>
    /// <exception cref="CorruptFileException">The header is missing, malformed, or describes an array this library does not read.</exception>
    public static NpyHeader Read(Stream stream, string path, long fileLength)
    {
        if (fileLength == 0)
            throw new CorruptFileException(path, "empty file: no .npy header");

        Span<byte> prelude = stackalloc byte[12];
        int got = stream.ReadAtLeast(prelude, prelude.Length, throwOnEndOfStream: false);
        int magicBytes = Math.Min(got, Magic.Length);
        if (!prelude[..magicBytes].SequenceEqual(Magic[..magicBytes]) || got < Magic.Length)
        {
            string found = Convert.ToHexString(prelude[..magicBytes]);
            throw new CorruptFileException(path, $"not a .npy file: bad magic (expected 934E554D5059, i.e. \\x93NUMPY, found {found})");
        }

        byte major = prelude[6], minor = prelude[7];
        int lengthFieldBytes = major switch { 1 => 2, 2 or 3 => 4, _ => 0 };
        if (got < 8 || lengthFieldBytes == 0 || minor != 0)
        {
            string version = got < 8 ? "missing" : $"{major}.{minor}";
            throw new CorruptFileException(path, $"unsupported .npy version {version} (supported: 1.0, 2.0, 3.0)");
        }

        int preludeBytes = 6 + 2 + lengthFieldBytes;
        if (got < preludeBytes)
            throw new CorruptFileException(path, $"truncated: the file ends at byte {got}, inside the .npy header length field");
        long headerLength = major == 1
            ? BinaryPrimitives.ReadUInt16LittleEndian(prelude[8..])
            : BinaryPrimitives.ReadUInt32LittleEndian(prelude[8..]);
        if (headerLength > MaxHeaderBytes)
            throw new CorruptFileException(path, $"malformed .npy header: it claims to be {headerLength} bytes long");
        long dataOffset = preludeBytes + headerLength;
        if (dataOffset > fileLength)
            throw new CorruptFileException(path, $"truncated: the .npy header needs {dataOffset} bytes but the file has only {fileLength}");

        byte[] headerBytes = new byte[headerLength];
        stream.Position = preludeBytes;
        stream.ReadExactly(headerBytes);
        // Versions 1.0 and 2.0 store the header as latin-1; 3.0 exists only to allow UTF-8 field names.
        string text = major == 3 ? Encoding.UTF8.GetString(headerBytes) : Encoding.Latin1.GetString(headerBytes);
        var header = Interpret(path, text, dataOffset);

        long rowBytes = (long)header.Dimension * VectorFileFormats.SizeOf(header.ElementType);
        long dataBytes = fileLength - dataOffset;
        string shape = ShapeText(header);
        if (header.Rows > dataBytes / rowBytes)
        {
            long fullRows = dataBytes / rowBytes;
            throw new CorruptFileException(path,
                $"truncated: shape {shape} needs {header.Rows} rows of {rowBytes} bytes after the {dataOffset}-byte header, " +
                $"but the file ends at byte offset {fileLength}, {dataBytes - fullRows * rowBytes} bytes into row {fullRows}");
        }
        if (header.Rows * rowBytes != dataBytes)
        {
            throw new CorruptFileException(path,
                $"shape {shape} does not match the file size: it needs {header.Rows * rowBytes} data bytes after the header, " +
                $"but the file has {dataBytes}");
        }
        return header;
    }

    /// <summary>A version 1.0 header of exactly <see cref="WrittenHeaderBytes"/> bytes for a C-order array of shape (rows, dimension).</summary>
    public static byte[] Format(VectorElementType type, long rows, int dimension)
    {
        string dict = string.Create(CultureInfo.InvariantCulture,
            $"{{'descr': '{Descr(type)}', 'fortran_order': False, 'shape': ({rows}, {dimension}), }}");
        byte[] bytes = new byte[WrittenHeaderBytes];
        Magic.CopyTo(bytes);
        bytes[6] = 1;
        bytes[7] = 0;
        int headerLength = WrittenHeaderBytes - 10;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)headerLength);
        // numpy pads with spaces and ends with a newline so the data starts 64-byte aligned.
        bytes.AsSpan(10).Fill((byte)' ');
        int written = Encoding.ASCII.GetBytes(dict, bytes.AsSpan(10, headerLength - 1));
        System.Diagnostics.Debug.Assert(written < headerLength);
        bytes[^1] = (byte)'\n';
        return bytes;
    }

    private static string Descr(VectorElementType type) => type switch
    {
        VectorElementType.Float32 => "<f4",
        VectorElementType.Int32 => "<i4",
        VectorElementType.UInt8 => "|u1",
        VectorElementType.Int64 => "<i8",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown element type."),
    };

    /// <summary>Checks a header's dictionary text and turns it into a header (shared with <see cref="VectorStreamReader"/>).</summary>
    internal static NpyHeader Interpret(string path, string text, long dataOffset)
    {
        object? parsed;
        try
        {
            parsed = new PythonLiteralParser(text).ParseAll();
        }
        catch (FormatException e)
        {
            throw new CorruptFileException(path, $"malformed .npy header ({e.Message}): {Shorten(text)}");
        }
        if (parsed is not Dictionary<string, object?> dict)
            throw new CorruptFileException(path, $"malformed .npy header (not a dictionary): {Shorten(text)}");

        object? descr = Require(path, dict, "descr", text);
        object? fortranOrder = Require(path, dict, "fortran_order", text);
        object? shapeValue = Require(path, dict, "shape", text);

        if (descr is not string dtype)
            throw new CorruptFileException(path, "unsupported dtype: structured (record) dtypes are not supported; save a plain 2-D '<f4' array");
        VectorElementType type = dtype switch
        {
            "<f4" => VectorElementType.Float32,
            "<i4" => VectorElementType.Int32,
            "<i8" => VectorElementType.Int64,
            "|u1" or "<u1" => VectorElementType.UInt8,
            _ => throw new CorruptFileException(path, UnsupportedDtype(dtype)),
        };

        if (fortranOrder is not bool fortran)
            throw new CorruptFileException(path, $"malformed .npy header (fortran_order is not True or False): {Shorten(text)}");
        if (fortran)
            throw new CorruptFileException(path, "fortran_order is True (column-major data); only C-order arrays are supported: save np.ascontiguousarray(a)");

        if (shapeValue is not List<object?> axes || !axes.TrueForAll(a => a is long n && n >= 0))
            throw new CorruptFileException(path, $"malformed .npy header (shape is not a tuple of non-negative integers): {Shorten(text)}");
        var shape = axes.ConvertAll(a => (long)a!);
        string shapeText = "(" + string.Join(", ", shape) + (shape.Count == 1 ? ",)" : ")");
        if (shape.Count == 1)
        {
            if (type == VectorElementType.Float32)
                throw new CorruptFileException(path, $"1-D shape {shapeText}: vectors need a 2-D array (rows, dimension); a 1-D array is accepted only for integer ids");
            return new NpyHeader(type, shape[0], 1, OneDimensional: true, dataOffset);
        }
        if (shape.Count != 2)
            throw new CorruptFileException(path, $"{shape.Count}-D shape {shapeText}: only 2-D arrays (rows, dimension) are supported");
        if (shape[1] <= 0 || shape[1] > VectorFileFormats.MaxDimension)
            throw new CorruptFileException(path, $"shape {shapeText} has dimension {shape[1]}; it must be between 1 and {VectorFileFormats.MaxDimension}");
        return new NpyHeader(type, shape[0], (int)shape[1], OneDimensional: false, dataOffset);
    }

    private static string UnsupportedDtype(string dtype)
    {
        string why = dtype switch
        {
            ['>', ..] => "big-endian data is not supported",
            "<f8" or "f8" => "float64 is not supported",
            "<f2" or "f2" => "float16 is not supported",
            ['|', 'O', ..] or ['O', ..] => "object arrays are not supported",
            _ => "this element type is not supported",
        };
        return $"unsupported dtype '{dtype}': {why}; supported are '<f4' (float32), '<i4' (int32), '<i8' (int64) and '|u1' (uint8) " +
               "(convert with a.astype('<f4'))";
    }

    private static object? Require(string path, Dictionary<string, object?> dict, string key, string text) =>
        dict.TryGetValue(key, out object? value)
            ? value
            : throw new CorruptFileException(path, $"malformed .npy header (no '{key}' key): {Shorten(text)}");

    internal static string ShapeText(NpyHeader header) => header.OneDimensional
        ? $"({header.Rows},)"
        : $"({header.Rows}, {header.Dimension})";

    private static string Shorten(string text)
    {
        text = text.Trim();
        return text.Length <= 200 ? text : text[..200] + "…";
    }

    /// <summary>
    /// Parses the Python literal numpy writes as the header: dicts, tuples, lists, strings, integers,
    /// True, False and None. Tuples and lists become <see cref="List{T}"/>, integers <see cref="long"/>.
    /// </summary>
    private sealed class PythonLiteralParser(string text)
    {
        private int _pos;

        public object? ParseAll()
        {
            object? value = ParseValue();
            SkipSpace();
            return _pos == text.Length ? value : throw Fail("unexpected text after the value");
        }

        private object? ParseValue()
        {
            SkipSpace();
            if (_pos >= text.Length) throw Fail("unexpected end");
            char c = text[_pos];
            return c switch
            {
                '{' => ParseDict(),
                '(' => ParseSequence(')'),
                '[' => ParseSequence(']'),
                '\'' or '"' => ParseString(),
                '-' or (>= '0' and <= '9') => ParseInteger(),
                _ when char.IsAsciiLetter(c) => ParseWord(),
                _ => throw Fail($"unexpected character '{c}'"),
            };
        }

        private Dictionary<string, object?> ParseDict()
        {
            _pos++;
            var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
            while (true)
            {
                SkipSpace();
                if (Peek() == '}') { _pos++; return dict; }
                if (ParseValue() is not string key) throw Fail("a dictionary key is not a string");
                SkipSpace();
                if (Peek() != ':') throw Fail("expected ':'");
                _pos++;
                dict[key] = ParseValue();
                SkipSpace();
                if (Peek() == ',') _pos++;
                else if (Peek() != '}') throw Fail("expected ',' or '}'");
            }
        }

        private List<object?> ParseSequence(char close)
        {
            _pos++;
            var items = new List<object?>();
            while (true)
            {
                SkipSpace();
                if (Peek() == close) { _pos++; return items; }
                items.Add(ParseValue());
                SkipSpace();
                if (Peek() == ',') _pos++;
                else if (Peek() != close) throw Fail($"expected ',' or '{close}'");
            }
        }

        private string ParseString()
        {
            char quote = text[_pos++];
            var sb = new StringBuilder();
            while (_pos < text.Length && text[_pos] != quote)
            {
                if (text[_pos] == '\\' && _pos + 1 < text.Length) _pos++;
                sb.Append(text[_pos++]);
            }
            if (_pos >= text.Length) throw Fail("unterminated string");
            _pos++;
            return sb.ToString();
        }

        private long ParseInteger()
        {
            int start = _pos;
            if (text[_pos] == '-') _pos++;
            while (_pos < text.Length && char.IsAsciiDigit(text[_pos])) _pos++;
            if (!long.TryParse(text.AsSpan(start, _pos - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
                throw Fail("bad integer");
            // Python 2 wrote long integers with an L suffix, as in (10L, 3L).
            if (_pos < text.Length && text[_pos] is 'L' or 'l') _pos++;
            return value;
        }

        private object? ParseWord()
        {
            int start = _pos;
            while (_pos < text.Length && char.IsAsciiLetterOrDigit(text[_pos])) _pos++;
            return text[start.._pos] switch
            {
                "True" => true,
                "False" => false,
                "None" => null,
                string word => throw Fail($"unknown name '{word}'"),
            };
        }

        private char Peek() => _pos < text.Length ? text[_pos] : '\0';

        private void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++;
        }

        private FormatException Fail(string problem) => new($"{problem} at character {_pos}");
    }
}
