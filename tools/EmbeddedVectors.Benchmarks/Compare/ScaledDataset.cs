using System.Diagnostics;
using EmbeddedVectors.IO;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Search;
using EmbeddedVectors.Benchmarks.Store;

namespace EmbeddedVectors.Benchmarks.Compare;

/// <summary>
/// Writes a scaled-up copy of the public data set as files <c>ev bench</c> and FAISS can read: <c>base.fvecs</c>
/// (rows as the store benchmarks make them: the real rows, then perturbed and renormalised copies),
/// <c>query.fvecs</c> (the real queries) and <c>groundtruth.ivecs</c> (exact top-100 by squared L2).
/// Usage: <c>scaled --scale 1000000 --out DIR [--sigma 0.01] [--data DIR] [--no-base]</c>.
/// With <c>--no-base</c> the rows are generated on the fly and never written (a 30M set would be a 46 GB file):
/// only the queries and the ground truth are, and the store benchmarks (<c>build --scale</c>) generate the same
/// rows again from their index.
/// </summary>
internal static class ScaledDataset
{
    private const int TruthDepth = 100;
    private const int Shortlist = 120;
    private const int Chunk = 65_536;

    public static int Run(string[] args)
    {
        long scale = long.Parse(Option(args, "--scale") ?? "1000000", System.Globalization.CultureInfo.InvariantCulture);
        string output = Option(args, "--out") ?? throw new ArgumentException("scaled needs --out DIR.");
        double sigma = double.Parse(Option(args, "--sigma") ?? "0.01", System.Globalization.CultureInfo.InvariantCulture);
        bool writeBase = Array.IndexOf(args, "--no-base") < 0;
        var data = Dataset.Load(Option(args, "--data") ?? Dataset.DefaultDirectory, withBase: true, withQueries: true, withTruth: false);
        int dim = data.Dimension, nq = data.QueryCount;
        Directory.CreateDirectory(output);
        VectorFile.WriteFvecs(Path.Combine(output, "query.fvecs"), data.Queries, dim);

        // Each query keeps its best Shortlist candidates by the fast expanded-form distance over every chunk;
        // the final top-100 is re-ranked by the direct distance, so float rounding cannot reorder near ties.
        var heapDistances = new float[nq * Shortlist];
        var heapIds = new long[nq * Shortlist];
        var counts = new int[nq];
        var clock = Stopwatch.StartNew();
        var rows = new float[Chunk * dim];
        using (var writer = writeBase ? VectorFileWriter.Create(Path.Combine(output, "base.fvecs"), dim, VectorElementType.Float32) : null)
        {
            for (long first = 0; first < scale; first += Chunk)
            {
                int count = (int)Math.Min(Chunk, scale - first);
                ScaledRows.Fill(data, first, count, rows, sigma);
                writer?.WriteFloats(rows.AsSpan(0, count * dim));
                var table = new CentroidTable(rows.AsSpan(0, count * dim), count, dim, Metric.L2);
                long offset = first;
                Parallel.For(0, nq, () => new float[count], (q, _, distances) =>
                {
                    table.ComputeAll(data.Queries.AsSpan(q * dim, dim), distances);
                    var heap = Restore(heapDistances.AsSpan(q * Shortlist, Shortlist), heapIds.AsSpan(q * Shortlist, Shortlist), counts[q]);
                    for (int i = 0; i < count; i++)
                        if (distances[i] <= heap.Threshold) heap.Push(distances[i], offset + i);
                    counts[q] = heap.Count;
                    return distances;
                }, _ => { });
                Console.Write($"\r{first + count:N0} of {scale:N0} rows, {clock.Elapsed.TotalSeconds:F0} s");
            }
        }
        Console.WriteLine();

        var truth = new int[nq * TruthDepth];
        using var reader = writeBase ? VectorFileReader.Open(Path.Combine(output, "base.fvecs")) : null;
        var row = new float[dim];
        for (int q = 0; q < nq; q++)
        {
            var candidates = new List<(double D, long Id)>(Shortlist);
            for (int i = 0; i < counts[q]; i++)
            {
                long id = heapIds[q * Shortlist + i];
                if (reader != null)
                {
                    reader.Seek(id);
                    reader.ReadFloats(row);
                }
                else ScaledRows.Row(data, id, row, sigma);
                double d = 0;
                for (int j = 0; j < dim; j++) { double diff = (double)row[j] - data.Queries[q * dim + j]; d += diff * diff; }
                candidates.Add((d, id));
            }
            candidates.Sort((a, b) => a.D != b.D ? a.D.CompareTo(b.D) : a.Id.CompareTo(b.Id));
            for (int i = 0; i < TruthDepth; i++) truth[q * TruthDepth + i] = (int)candidates[i].Id;
        }
        VectorFile.WriteIvecs(Path.Combine(output, "groundtruth.ivecs"), truth, TruthDepth);
        Console.WriteLine($"wrote {output}: {(writeBase ? $"{scale:N0} base rows" : $"(rows generated, not written: {scale:N0})")}, {nq} queries, exact top-{TruthDepth} in {clock.Elapsed.TotalSeconds:F0} s");
        return 0;
    }

    /// <summary>A heap over storage that already holds <paramref name="count"/> entries in heap order.</summary>
    private static TopKHeap Restore(Span<float> distances, Span<long> ids, int count)
    {
        var heap = new TopKHeap(distances, ids);
        // The storage is a valid heap prefix: re-pushing its entries in order rebuilds the same heap.
        Span<float> d = stackalloc float[count];
        Span<long> i = stackalloc long[count];
        distances[..count].CopyTo(d);
        ids[..count].CopyTo(i);
        for (int k = 0; k < count; k++) heap.Push(d[k], i[k]);
        return heap;
    }

    private static string? Option(string[] args, string name)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }
}
