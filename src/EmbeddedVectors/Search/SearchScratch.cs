namespace EmbeddedVectors.Search;

/// <summary>
/// Per-thread working memory of a search, grown on demand and then reused, so a steady stream of queries
/// allocates nothing. Each buffer has one purpose, so nested uses never overlap.
/// </summary>
internal sealed class SearchScratch
{
    [ThreadStatic] private static SearchScratch? t_current;

    private float[] _coarseDistances = [];
    private float[] _probeDistances = [];
    private long[] _probeLists = [];
    private float[] _queryTable = [];
    private float[] _listTable = [];
    private float[] _shortlistDistances = [];
    private long[] _shortlistLabels = [];
    private float[] _vector = [];
    private float[] _rotated = [];
    private byte[] _lut = [];
    private float[] _cellTableBuild = [];
    private ulong[] _matchBits = [];
    private long[] _runBases = [];

    public static SearchScratch Current => t_current ??= new SearchScratch();

    public Span<float> CoarseDistances(int length) => Take(ref _coarseDistances, length);
    public Span<float> ProbeDistances(int length) => Take(ref _probeDistances, length);
    public Span<long> ProbeLists(int length) => Take(ref _probeLists, length);
    public Span<float> QueryTable(int length) => Take(ref _queryTable, length);
    public Span<float> ListTable(int length) => Take(ref _listTable, length);
    public Span<float> ShortlistDistances(int length) => Take(ref _shortlistDistances, length);
    public Span<long> ShortlistLabels(int length) => Take(ref _shortlistLabels, length);
    public Span<float> Vector(int length) => Take(ref _vector, length);
    public Span<float> Rotated(int length) => Take(ref _rotated, length);
    public Span<byte> Lut(int length) => Take(ref _lut, length);
    public Span<float> CellTableBuild(int length) => Take(ref _cellTableBuild, length);
    public Span<ulong> MatchBits(int length) => Take(ref _matchBits, length);
    public Span<long> RunBases(int length) => Take(ref _runBases, length);

    private static Span<T> Take<T>(ref T[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new T[Math.Max(length, buffer.Length * 2)];
        return buffer.AsSpan(0, length);
    }
}
