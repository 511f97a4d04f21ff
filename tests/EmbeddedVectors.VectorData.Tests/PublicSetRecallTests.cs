using EmbeddedVectors.IO;
using Microsoft.Extensions.VectorData;

namespace EmbeddedVectors.VectorData.Tests;

/// <summary>
/// The connector's default index settings on the public debian-minilm-384 set (60,629 × 384, exact L2 ground truth),
/// upserted and searched through the connector: recall@10 over 300 queries must reach 0.95.
/// </summary>
public sealed class PublicSetRecallTests
{
    public sealed class Passage
    {
        [VectorStoreKey] public long Id { get; set; }
        [VectorStoreData(IsIndexed = true)] public int Bucket { get; set; }
        [VectorStoreData] public string Title { get; set; } = "";
        [VectorStoreData] public double Weight { get; set; }
        [VectorStoreVector(384, DistanceFunction = DistanceFunction.EuclideanSquaredDistance)] public ReadOnlyMemory<float> Vector { get; set; }
    }

    /// <summary>The shared data directory, found by walking up from the test binaries; null when absent.</summary>
    internal static string? SharedData()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "data", "debian-minilm-384");
            if (File.Exists(Path.Combine(candidate, "base.fvecs"))) return candidate;
        }
        return null;
    }

    [SkippableFact]
    public async Task DefaultSettingsReachRecall95()
    {
        string? data = SharedData();
        Skip.If(data == null, "shared/data/debian-minilm-384 not found");
        const int queryCount = 300, k = 10;
        var vectors = VectorFile.ReadAllFloats(Path.Combine(data!, "base.fvecs"), out int dimension);
        var queries = VectorFile.ReadAllFloats(Path.Combine(data!, "query.fvecs"), out _, queryCount);
        var truth = VectorFile.ReadAllInt32(Path.Combine(data!, "groundtruth.ivecs"), out int width, queryCount);
        int count = vectors.Length / dimension;

        using var dir = new TempDirectory();
        using var store = new EmbeddedVectorsVectorStore(dir.Path);
        var passages = store.GetCollection<long, Passage>("passages");
        await passages.EnsureCollectionExistsAsync();
        const int batch = 4096;
        for (int start = 0; start < count; start += batch)
        {
            int n = Math.Min(batch, count - start);
            await passages.UpsertAsync(Enumerable.Range(start, n).Select(i => new Passage
            {
                Id = i, Bucket = i % 10, Title = $"passage {i}", Weight = i * 0.5,
                Vector = new ReadOnlyMemory<float>(vectors, i * dimension, dimension),
            }).ToList());
        }
        Assert.True(((EmbeddedVectorStore)passages.GetService(typeof(EmbeddedVectorStore))!).IsTrained);

        long hits = 0;
        for (int q = 0; q < queryCount; q++)
        {
            var results = await passages.SearchAsync(new ReadOnlyMemory<float>(queries, q * dimension, dimension), k).ToListAsync();
            var expected = truth.AsSpan(q * width, k).ToArray();
            hits += results.Count(r => Array.IndexOf(expected, (int)r.Record.Id) >= 0);
        }
        double recall = hits / (double)(queryCount * k);
        Console.WriteLine($"connector default recall@10 = {recall:F4}");
        Assert.True(recall >= 0.95, $"recall@10 {recall:F4} < 0.95");
    }
}
