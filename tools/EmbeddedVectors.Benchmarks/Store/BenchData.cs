using System.Diagnostics;
using System.Text;
using EmbeddedVectors.IO;

namespace EmbeddedVectors.Benchmarks.Store;

/// <summary>The public data set (debian-minilm-384): base vectors, queries and ground truth.</summary>
internal sealed class Dataset
{
    public const string DefaultDirectory = "/work/shared/data/debian-minilm-384";

    private Dataset(string directory) => Directory = directory;

    public string Directory { get; }
    public float[] Base { get; private set; } = [];
    public int BaseRows { get; private set; }
    public int Dimension { get; private set; }
    public float[] Queries { get; private set; } = [];
    public int QueryCount { get; private set; }
    public int[] Truth { get; private set; } = [];
    public int TruthWidth { get; private set; }

    /// <summary>Loads what the caller needs: the base (93 MB) only when asked for.</summary>
    public static Dataset Load(string directory, bool withBase, bool withQueries, bool withTruth)
    {
        var data = new Dataset(directory);
        if (withBase)
        {
            data.Base = VectorFile.ReadAllFloats(Path.Combine(directory, "base.fvecs"), out int dimension);
            data.Dimension = dimension;
            data.BaseRows = data.Base.Length / dimension;
        }
        if (withQueries)
        {
            data.Queries = VectorFile.ReadAllFloats(Path.Combine(directory, "query.fvecs"), out int dimension);
            if (data.Dimension != 0 && dimension != data.Dimension) throw new InvalidDataException("Queries and base differ in dimension.");
            data.Dimension = dimension;
            data.QueryCount = data.Queries.Length / dimension;
        }
        if (withTruth)
        {
            data.Truth = VectorFile.ReadAllInt32(Path.Combine(directory, "groundtruth.ivecs"), out int width);
            data.TruthWidth = width;
        }
        return data;
    }

    public ReadOnlySpan<float> Query(int q) => Queries.AsSpan((q % QueryCount) * Dimension, Dimension);

    /// <summary>Mean recall@k of row-major result ids (k a query) against the ground truth's first k.</summary>
    public double RecallAtK(long[] ids, int queries, int k)
    {
        if (k > TruthWidth) throw new ArgumentException($"The ground truth holds {TruthWidth} neighbours a query, fewer than k = {k}.");
        long hits = 0;
        var truth = new HashSet<long>();
        for (int q = 0; q < queries; q++)
        {
            truth.Clear();
            for (int j = 0; j < k; j++) truth.Add(Truth[q * TruthWidth + j]);
            for (int j = 0; j < k; j++) if (truth.Contains(ids[q * k + j])) hits++;
        }
        return (double)hits / ((long)queries * k);
    }
}

/// <summary>
/// The rows of a scaled-up store: row i is base row (i mod n) and, from i = n on, that row plus Gaussian noise
/// (σ a component, from a generator seeded by i) renormalised to unit length, like the real embeddings.
/// </summary>
internal static class ScaledRows
{
    /// <summary>Fills rows firstRow.. into <paramref name="destination"/>, in parallel (generation is timed apart from the store).</summary>
    public static void Fill(Dataset data, long firstRow, int count, float[] destination, double sigma)
    {
        int dim = data.Dimension;
        if (destination.Length < count * dim) throw new ArgumentException("The destination is too short.", nameof(destination));
        Parallel.For(0, count, r => Row(data, firstRow + r, destination.AsSpan(r * dim, dim), sigma));
    }

    /// <summary>Row <paramref name="row"/> alone (the same values <see cref="Fill"/> gives it).</summary>
    public static void Row(Dataset data, long row, Span<float> destination, double sigma)
    {
        int dim = data.Dimension;
        data.Base.AsSpan((int)(row % data.BaseRows) * dim, dim).CopyTo(destination);
        if (row < data.BaseRows) return;
        ulong state = (ulong)row * 0x9E3779B97F4A7C15UL ^ 0xD1B54A32D192ED03UL;
        double norm = 0;
        for (int j = 0; j < dim; j += 2)
        {
            // Box–Muller: two independent N(0, 1) from two uniforms in (0, 1].
            double u1 = (SplitMix64(ref state) >> 11) * (1.0 / (1UL << 53)) + 1.0 / (1UL << 54);
            double u2 = (SplitMix64(ref state) >> 11) * (1.0 / (1UL << 53));
            double radius = Math.Sqrt(-2 * Math.Log(u1)) * sigma;
            destination[j] += (float)(radius * Math.Cos(2 * Math.PI * u2));
            if (j + 1 < dim) destination[j + 1] += (float)(radius * Math.Sin(2 * Math.PI * u2));
        }
        for (int j = 0; j < dim; j++) norm += (double)destination[j] * destination[j];
        float scale = (float)(1 / Math.Sqrt(norm));
        for (int j = 0; j < dim; j++) destination[j] *= scale;
    }

    private static ulong SplitMix64(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary>Payloads: <c>{"row":i}</c>, or a JSON object padded to about <c>bytes</c> bytes.</summary>
internal static class Payloads
{
    public static byte[] Row(long row) => Encoding.UTF8.GetBytes($"{{\"row\":{row}}}");

    public static byte[] Padded(long row, int bytes)
    {
        string head = $"{{\"row\":{row},\"source\":\"debian-minilm-384\",\"text\":\"";
        int fill = Math.Max(0, bytes - head.Length - 2);
        return Encoding.UTF8.GetBytes(head + new string((char)('a' + row % 26), fill) + "\"}");
    }
}

/// <summary>Single-query timing against a store, one query at a time on the calling thread.</summary>
internal static class QueryRunner
{
    /// <summary>
    /// Passes over every query until <paramref name="minSeconds"/> have gone by (at least one pass); returns the
    /// queries a second and the ids of the first pass (k a query).
    /// </summary>
    public static (double Qps, long[] Ids, int Passes) Throughput(EmbeddedVectorStore store, Dataset data, int k,
        StoreSearchOptions options, double minSeconds)
    {
        var ids = new long[(long)data.QueryCount * k];
        Span<long> scratchIds = stackalloc long[k];
        Span<float> distances = stackalloc float[k];
        for (int q = 0; q < Math.Min(50, data.QueryCount); q++) store.Search(data.Query(q), scratchIds, distances, options); // warm-up
        int passes = 0;
        long queries = 0;
        var clock = Stopwatch.StartNew();
        do
        {
            for (int q = 0; q < data.QueryCount; q++)
            {
                var target = passes == 0 ? ids.AsSpan(q * k, k) : scratchIds;
                int found = store.Search(data.Query(q), target, distances, options);
                if (passes == 0) target[found..].Fill(-1);
            }
            passes++;
            queries += data.QueryCount;
        } while (clock.Elapsed.TotalSeconds < minSeconds);
        return (queries / clock.Elapsed.TotalSeconds, ids, passes);
    }

    /// <summary>Latency in milliseconds of each of <paramref name="count"/> queries starting at query <paramref name="first"/>.</summary>
    public static double[] Latencies(EmbeddedVectorStore store, Dataset data, int first, int count, int k, StoreSearchOptions options)
    {
        var latencies = new double[count];
        Span<long> ids = stackalloc long[k];
        Span<float> distances = stackalloc float[k];
        for (int i = 0; i < count; i++)
        {
            var query = data.Query(first + i);
            long start = Stopwatch.GetTimestamp();
            store.Search(query, ids, distances, options);
            latencies[i] = Stats.Ms(Stopwatch.GetTimestamp() - start);
        }
        return latencies;
    }
}

/// <summary>Sizes of a store directory by kind of file.</summary>
internal static class StoreFiles
{
    public static IEnumerable<FileInfo> All(string directory)
        => new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories);

    public static long TotalBytes(string directory) => All(directory).Sum(f => f.Length);

    /// <summary>Bytes by kind: segment codes (.evs), segment vectors (.evv), the log, everything else.</summary>
    public static IEnumerable<(string Kind, int Files, long Bytes)> ByKind(string directory)
        => All(directory)
            .GroupBy(Kind)
            .Select(g => (g.Key, g.Count(), g.Sum(f => f.Length)))
            .OrderBy(g => g.Key, StringComparer.Ordinal);

    public static string Kind(FileInfo file)
        => file.FullName.Contains($"{Path.DirectorySeparatorChar}log{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "log (wal + payloads)"
            : file.Extension == ".evs" ? "segment codes (.evs)"
            : file.Extension == ".evv" ? "segment vectors (.evv)"
            : "other (manifest, quantizer, lock, deletions)";

    public static void DeleteIfExists(string directory)
    {
        if (System.IO.Directory.Exists(directory)) System.IO.Directory.Delete(directory, recursive: true);
    }
}
