namespace EmbeddedVectors.Cli.Commands;

/// <summary>
/// Reads a file line by line as raw bytes (no decoding), trimmed of <c>\n</c> or <c>\r\n</c>; a UTF-8 byte-order
/// mark at the start is dropped. A final line without a newline counts; an empty file has no lines.
/// </summary>
internal sealed class LineReader : IDisposable
{
    private readonly Stream _stream;
    private byte[] _buffer = new byte[1 << 16];
    private int _start;
    private int _end;
    private bool _endOfFile;
    private bool _first = true;

    public LineReader(string path)
    {
        Path = path;
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
    }

    public string Path { get; }

    /// <summary>Lines returned so far: the 1-based number of the last line read.</summary>
    public long LineNumber { get; private set; }

    /// <summary>The next line's bytes, or null at the end of the file.</summary>
    public byte[]? ReadLine()
    {
        while (true)
        {
            int newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                var line = Take(_start, newline);
                _start = newline + 1;
                return line;
            }
            if (_endOfFile)
            {
                if (_start == _end) return null;
                var last = Take(_start, _end);
                _start = _end;
                return last;
            }
            Fill();
        }
    }

    public void Dispose() => _stream.Dispose();

    private void Fill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length) Array.Resize(ref _buffer, checked(_buffer.Length * 2));
        int read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0) _endOfFile = true;
        else _end += read;
    }

    private byte[] Take(int start, int end)
    {
        if (end > start && _buffer[end - 1] == (byte)'\r') end--;
        if (_first)
        {
            _first = false;
            if (end - start >= 3 && _buffer[start] == 0xEF && _buffer[start + 1] == 0xBB && _buffer[start + 2] == 0xBF) start += 3;
        }
        LineNumber++;
        return _buffer.AsSpan(start, end - start).ToArray();
    }
}
