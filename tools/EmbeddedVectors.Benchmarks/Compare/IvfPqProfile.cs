using System.Diagnostics;
using EmbeddedVectors.IO;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Search;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Benchmarks.Compare;

/// <summary>Where a single IVFPQ query spends its time: probing, the query table, cell tables, and the scan.</summary>
internal static class IvfPqProfile
{
    public static int Run(string[] args)
    {
        string data = args.Length > 0 ? args[0] : Path.Combine("..", "shared", "data", "debian-minilm-384");
        var xb = VectorFile.ReadAllFloats(Path.Combine(data, "base.fvecs"), out int dim);
        var xq = VectorFile.ReadAllFloats(Path.Combine(data, "query.fvecs"), out _);
        int n = xb.Length / dim, nq = xq.Length / dim;
        var q = IvfPqQuantizer.Train(xb, n, dim, 1024, 48, Metric.L2, new KMeansOptions { Iterations = 10 }, 256L << 20);
        var lists = new int[n];
        var codes = new byte[n * 48];
        q.Encode(xb, n, lists, codes);
        var byList = Enumerable.Range(0, 1024).Select(l => new List<int>()).ToArray();
        for (int i = 0; i < n; i++) byList[lists[i]].Add(i);
        var listCodes = byList.Select(members => members.SelectMany(i => codes.AsSpan(i * 48, 48).ToArray()).ToArray()).ToArray();
        var listIds = byList.Select(members => members.Select(i => (long)i).ToArray()).ToArray();
        var probeLists = new long[16];
        var probeDistances = new float[16];
        var queryTable = new float[q.TableLength];
        var cellTable = new float[q.TableLength];
        var heapD = new float[10];
        var heapI = new long[10];
        var probe = new Stopwatch(); var tables = new Stopwatch(); var cells = new Stopwatch(); var scan = new Stopwatch();
        for (int rep = 0; rep < 5; rep++)
        {
            for (int i = 0; i < nq; i++)
            {
                var query = xq.AsSpan(i * dim, dim);
                probe.Start(); q.Coarse.Probe(query, probeLists, probeDistances); probe.Stop();
                tables.Start(); q.Pq.ComputeInnerProductTable(query, queryTable); tables.Stop();
                var heap = new TopKHeap(heapD, heapI);
                for (int p = 0; p < 16; p++)
                {
                    int list = (int)probeLists[p];
                    cells.Start(); var table = q.CellTable(query, list, probeDistances[p], queryTable, cellTable, out float bias); cells.Stop();
                    scan.Start(); AdcScan.Scan(table, 48, listCodes[list], listIds[list].Length, bias, listIds[list], ref heap); scan.Stop();
                }
            }
        }
        double per(Stopwatch s) => s.Elapsed.TotalMicroseconds / (5.0 * nq);
        Console.WriteLine($"per query (nprobe 16): probe {per(probe):F1} µs, query table {per(tables):F1} µs, cell tables {per(cells):F1} µs, scan {per(scan):F1} µs");
        return 0;
    }
}
