using EmbeddedVectors.Indexes;
using EmbeddedVectors.IO;
using EmbeddedVectors.Search;

namespace EmbeddedVectors.Tests;

/// <summary>
/// The real debian-minilm-384 data (60,629 × 384 MiniLM text embeddings with exact top-100 ground truth), loaded
/// once per test run. Its ground truth is exact brute force by L2, which <see cref="FlatIndex"/> is checked to
/// reproduce, so every recall here is recall against flat search.
/// </summary>
public sealed class RealData
{
    private static readonly Lazy<RealData> Loaded = new(() => new RealData());

    /// <summary>Queries used by the recall tests: enough for stable figures, few enough for a 2-core CI.</summary>
    public const int QueryCount = 300;

    private RealData()
    {
        Base = VectorFile.ReadAllFloats(TestData.RequireSharedData("base.fvecs"), out int dimension);
        Dimension = dimension;
        Queries = VectorFile.ReadAllFloats(TestData.RequireSharedData("query.fvecs"), out _, QueryCount);
        Truth = VectorFile.ReadAllInt32(TestData.RequireSharedData("groundtruth.ivecs"), out int width, QueryCount);
        TruthWidth = width;
    }

    public static RealData Instance => Loaded.Value;

    public float[] Base { get; }
    public int Count => Base.Length / Dimension;
    public int Dimension { get; }
    public float[] Queries { get; }
    public int[] Truth { get; }
    public int TruthWidth { get; }

    public ReadOnlySpan<float> Query(int q) => Queries.AsSpan(q * Dimension, Dimension);

    /// <summary>Mean overlap of each query's top-<paramref name="k"/> with the true top-<paramref name="k"/>.</summary>
    public double RecallAt(VectorIndex index, int k, SearchParameters? parameters = null)
    {
        var result = index.SearchBatch(Queries, k, parameters);
        return RecallOf(result.Ids, k);
    }

    public double RecallOf(long[] ids, int k)
    {
        long hits = 0;
        for (int q = 0; q < QueryCount; q++)
        {
            var truth = Truth.AsSpan(q * TruthWidth, k);
            foreach (long id in ids.AsSpan(q * k, k))
                if (id >= 0 && truth.Contains((int)id)) hits++;
        }
        return hits / (double)(QueryCount * k);
    }

    /// <summary>Share of queries whose true nearest neighbour is ranked first.</summary>
    public double RecallAt1(VectorIndex index, SearchParameters? parameters = null)
    {
        var result = index.SearchBatch(Queries, 1, parameters);
        int hits = 0;
        for (int q = 0; q < QueryCount; q++) if (result.Ids[q] == Truth[q * TruthWidth]) hits++;
        return hits / (double)QueryCount;
    }
}
