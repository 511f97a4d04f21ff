using System.Text;
using EmbeddedVectors.IO;

namespace EmbeddedVectors.Soak;

/// <summary>
/// The entries the soak and storm workloads write: real vectors (a slice of debian-minilm-384's base.fvecs, so
/// training and retraining see real structure), and a payload and field values that are a pure function of
/// (id, version), so a parent process can check an entry from the two numbers a child printed.
/// </summary>
public sealed class SoakData
{
    /// <summary>Rows of base.fvecs used: enough variety for 16 cells, small enough to load in a child quickly.</summary>
    public const int SliceRows = 8192;

    private const string DataRelative = "shared/data/debian-minilm-384/base.fvecs";

    private SoakData(float[] rows, int dimension)
    {
        Rows = rows;
        Dimension = dimension;
    }

    /// <summary>The slice, row-major.</summary>
    public float[] Rows { get; }

    /// <summary>The vectors' length (384).</summary>
    public int Dimension { get; }

    /// <summary>The metadata fields every soak store declares: the entry's version and a tag derived from it.</summary>
    public static IReadOnlyList<FieldDefinition> Fields { get; } = [new("ver", FieldType.Long), new("tag", FieldType.String)];

    /// <summary>Loads the slice from <paramref name="path"/>, or from base.fvecs found by <see cref="FindBaseVectors"/>.</summary>
    public static SoakData Load(string? path = null)
    {
        var rows = VectorFile.ReadAllFloats(path ?? FindBaseVectors(), out int dimension, SliceRows);
        return new SoakData(rows, dimension);
    }

    /// <summary>
    /// base.fvecs of the shared data set: <c>EV_SOAK_DATA</c> when set, else <c>shared/data/debian-minilm-384</c> in
    /// the binaries' directory or any parent, or in the working directory or any parent.
    /// </summary>
    /// <exception cref="FileNotFoundException">No such file anywhere looked.</exception>
    public static string FindBaseVectors()
    {
        string? configured = Environment.GetEnvironmentVariable("EV_SOAK_DATA");
        if (!string.IsNullOrEmpty(configured)) return configured;
        foreach (string start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, DataRelative);
                if (File.Exists(candidate)) return candidate;
            }
        }
        throw new FileNotFoundException($"No {DataRelative} found above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}; set EV_SOAK_DATA to base.fvecs.");
    }

    /// <summary>The slice row that (id, version) uses as its vector.</summary>
    public static int RowOf(long id, long version) => (int)(Mix((ulong)id * 31 + (ulong)version) % SliceRows);

    /// <summary>The vector of (id, version).</summary>
    public ReadOnlySpan<float> VectorOf(long id, long version) => Rows.AsSpan(RowOf(id, version) * Dimension, Dimension);

    /// <summary>The payload of (id, version): JSON naming both, padded to a length that varies with them (0 to 300 extra bytes).</summary>
    public static byte[] PayloadOf(long id, long version)
    {
        int padding = (int)(Mix((ulong)version * 7 + (ulong)id) % 301);
        return Encoding.UTF8.GetBytes($"{{\"id\":{id},\"v\":{version},\"pad\":\"{new string('x', padding)}\"}}");
    }

    /// <summary>The version a payload written by <see cref="PayloadOf"/> names, or -1 when it is not one.</summary>
    public static long VersionInPayload(byte[] payload)
    {
        string text = Encoding.UTF8.GetString(payload);
        int start = text.IndexOf(",\"v\":", StringComparison.Ordinal);
        if (start < 0) return -1;
        start += 5;
        int end = text.IndexOf(',', start);
        return end > start && long.TryParse(text.AsSpan(start, end - start), out long version) ? version : -1;
    }

    /// <summary>The field values of (id, version).</summary>
    public static FieldValues FieldsOf(long version) => new FieldValues().Set("ver", version).Set("tag", TagOf(version));

    /// <summary>The "tag" field of a version.</summary>
    public static string TagOf(long version) => "t" + (version % 7).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>SplitMix64's finaliser: spreads consecutive inputs over the whole range.</summary>
    public static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Squared L2 distance, summed in double so that it can serve as the oracle for the store's float kernels.</summary>
    public static double SquaredL2(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = (double)a[i] - b[i];
            sum += d * d;
        }
        return sum;
    }
}
