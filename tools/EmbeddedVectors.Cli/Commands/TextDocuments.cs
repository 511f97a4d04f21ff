using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Text;

namespace EmbeddedVectors.Cli.Commands;

/// <summary>How <c>ev add --text</c> reads a text file.</summary>
internal enum TextFormat
{
    /// <summary>TSV when the first non-blank line has a tab, otherwise one document a line.</summary>
    Auto,

    /// <summary>One document a line; line n (from 1) gets id start + n − 1.</summary>
    Lines,

    /// <summary><c>ID&lt;TAB&gt;TEXT</c>: a whole-number first column is the id; any other first column is a key kept in the payload.</summary>
    Tsv,
}

/// <summary>One document of a text file: its line, its id when the file gives one, its key when the file names it, and its text.</summary>
internal readonly record struct TextDocument(long Line, long? Id, string? Key, string Text);

/// <summary>
/// Reads documents from a text file, standard input (<c>-</c>) or a gzip file (<c>.gz</c>) through a
/// <see cref="PipeReader"/>: lines are cut where they lie in the pipe's buffers, so any file size streams through
/// in fixed memory. Blank lines are skipped (their line numbers, and so their ids, stay unused).
/// </summary>
internal sealed class TextDocuments : IDisposable
{
    private readonly PipeReader _pipe;
    private readonly Stream _stream;
    private TextFormat _format;
    private bool? _numericIds;
    private bool _ended;

    private TextDocuments(Stream stream, string name, TextFormat format)
    {
        _stream = stream;
        Name = name;
        _format = format;
        _pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 1 << 16, leaveOpen: true));
    }

    /// <summary>The file's name in messages.</summary>
    public string Name { get; }

    /// <summary>The format in use; <see cref="TextFormat.Auto"/> until the first document decided it.</summary>
    public TextFormat Format => _format;

    /// <summary>In TSV: true when the first column holds ids, false when it holds keys; null before the first document.</summary>
    public bool? NumericIds => _numericIds;

    /// <summary>Lines read so far (the 1-based number of the last one).</summary>
    public long LineNumber { get; private set; }

    /// <summary>Opens <paramref name="path"/> (<c>-</c>: standard input; <c>.gz</c>: decompressed as it is read).</summary>
    public static TextDocuments Open(string path, TextFormat format)
    {
        if (path == "-") return new TextDocuments(CliApp.OpenStandardInput(), "standard input", format);
        if (Directory.Exists(path)) throw new UserErrorException($"Text file {path} is a directory.");
        if (!File.Exists(path)) throw new UserErrorException($"Text file not found: {path}");
        Stream stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) stream = new GZipStream(stream, CompressionMode.Decompress);
        return new TextDocuments(stream, path, format);
    }

    /// <summary>Parses <c>auto</c>, <c>lines</c> or <c>tsv</c>.</summary>
    public static TextFormat ParseFormat(string? text) => text?.ToLowerInvariant() switch
    {
        null or "auto" => TextFormat.Auto,
        "lines" => TextFormat.Lines,
        "tsv" => TextFormat.Tsv,
        _ => throw new UserErrorException($"Unknown --text-format '{text}'. Use auto, lines or tsv."),
    };

    /// <summary>Adds up to <paramref name="max"/> documents to <paramref name="into"/>; false once the file has no more.</summary>
    public bool ReadBatch(List<TextDocument> into, int max) => ReadBatchAsync(into, max).AsTask().GetAwaiter().GetResult();

    /// <summary>Adds up to <paramref name="max"/> documents to <paramref name="into"/>; false once the file has no more.</summary>
    public async ValueTask<bool> ReadBatchAsync(List<TextDocument> into, int max)
    {
        int before = into.Count;
        while (!_ended && into.Count - before < max)
        {
            ReadResult result;
            try
            {
                result = await _pipe.ReadAsync().ConfigureAwait(false);
            }
            catch (InvalidDataException e)
            {
                throw new UserErrorException($"{Name} is not a readable gzip file: {e.Message}");
            }
            var buffer = result.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            while (into.Count - before < max && reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
                Take(line, into);
            if (result.IsCompleted && into.Count - before < max)
            {
                // What follows the last newline is a last line without one.
                if (!reader.End) Take(reader.UnreadSequence, into);
                reader.AdvanceToEnd();
                _ended = true;
            }
            _pipe.AdvanceTo(reader.Position, _ended || into.Count - before >= max ? reader.Position : buffer.End);
        }
        return into.Count > before || !_ended;
    }

    public void Dispose()
    {
        _pipe.Complete();
        _stream.Dispose();
    }

    private void Take(ReadOnlySequence<byte> bytes, List<TextDocument> into)
    {
        LineNumber++;
        string line = Decode(bytes);
        if (LineNumber == 1 && line.Length > 0 && line[0] == '\uFEFF') line = line[1..];
        if (line.Length > 0 && line[^1] == '\r') line = line[..^1];
        if (string.IsNullOrWhiteSpace(line)) return;
        if (_format == TextFormat.Auto) _format = line.Contains('\t', StringComparison.Ordinal) ? TextFormat.Tsv : TextFormat.Lines;
        if (_format == TextFormat.Lines)
        {
            into.Add(new TextDocument(LineNumber, null, null, line));
            return;
        }
        int tab = line.IndexOf('\t', StringComparison.Ordinal);
        if (tab < 0)
            throw new UserErrorException($"{Name}, line {LineNumber}: no tab; a TSV line is ID<TAB>TEXT (use --text-format lines for one document a line).");
        string first = line[..tab].Trim();
        string text = line[(tab + 1)..];
        bool isNumber = long.TryParse(first, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long id);
        _numericIds ??= isNumber;
        if (_numericIds == true && !isNumber)
            throw new UserErrorException($"{Name}, line {LineNumber}: '{first}' is not a whole number, but the first line's id column held numbers, so every line's must.");
        into.Add(_numericIds == true ? new TextDocument(LineNumber, id, null, text) : new TextDocument(LineNumber, null, first, text));
    }

    private string Decode(ReadOnlySequence<byte> bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new UserErrorException($"{Name}, line {LineNumber}: not UTF-8 text.");
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
