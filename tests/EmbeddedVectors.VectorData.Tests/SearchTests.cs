using Microsoft.Extensions.VectorData;

namespace EmbeddedVectors.VectorData.Tests;

public sealed class SearchTests : StoreTest
{
    private static readonly float[][] Points = [[1, 0, 0, 0], [0.9f, 0.4f, 0, 0], [0, 2, 0, 0], [-1, 0, 0.5f, 0], [3, 3, 3, 3], [0.1f, 0.3f, -0.1f, 0.2f]];

    private static double Dot(float[] a, float[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }

    /// <summary>The exact score of each distance function, as the abstraction defines it.</summary>
    private static double Expected(string function, float[] q, float[] x) => function switch
    {
        DistanceFunction.CosineSimilarity => Dot(q, x) / Math.Sqrt(Dot(q, q) * Dot(x, x)),
        DistanceFunction.CosineDistance => 1 - Dot(q, x) / Math.Sqrt(Dot(q, q) * Dot(x, x)),
        DistanceFunction.DotProductSimilarity => Dot(q, x),
        DistanceFunction.NegativeDotProductSimilarity => -Dot(q, x),
        DistanceFunction.EuclideanSquaredDistance => Dot(q, q) + Dot(x, x) - 2 * Dot(q, x),
        _ => Math.Sqrt(Math.Max(0, Dot(q, q) + Dot(x, x) - 2 * Dot(q, x))),
    };

    private static bool HigherIsCloser(string function) => function is DistanceFunction.CosineSimilarity or DistanceFunction.DotProductSimilarity;

    [Theory]
    [InlineData(DistanceFunction.CosineSimilarity, IndexKind.Flat)]
    [InlineData(DistanceFunction.CosineDistance, IndexKind.Flat)]
    [InlineData(DistanceFunction.DotProductSimilarity, IndexKind.Flat)]
    [InlineData(DistanceFunction.NegativeDotProductSimilarity, IndexKind.Flat)]
    [InlineData(DistanceFunction.EuclideanSquaredDistance, IndexKind.Flat)]
    [InlineData(DistanceFunction.EuclideanDistance, IndexKind.Flat)]
    [InlineData(DistanceFunction.CosineSimilarity, IndexKind.IvfFlat)]
    [InlineData(DistanceFunction.EuclideanSquaredDistance, IndexKind.Dynamic)]
    [InlineData(DistanceFunction.DotProductSimilarity, EmbeddedVectorsIndexKind.IvfPq)]
    public async Task ScoresFollowTheDistanceFunction(string function, string indexKind)
    {
        var definition = new VectorStoreCollectionDefinition
        {
            Properties =
            [
                new VectorStoreKeyProperty("Key", typeof(long)),
                new VectorStoreDataProperty("Label", typeof(string)),
                new VectorStoreVectorProperty("Vector", typeof(float[]), 4) { DistanceFunction = function, IndexKind = indexKind },
            ],
        };
        var c = Store.GetCollection<long, DefinedRecord>("scores", definition);
        await c.EnsureCollectionExistsAsync();
        await c.UpsertAsync(Points.Select((p, i) => new DefinedRecord { Key = i, Label = $"p{i}", Vector = p }).ToList());
        float[] query = [0.8f, 0.5f, 0.1f, 0];
        var expected = Enumerable.Range(0, Points.Length).Select(i => (Id: (long)i, Score: Expected(function, query, Points[i])))
            .OrderBy(x => HigherIsCloser(function) ? -x.Score : x.Score).ToList();

        var all = await c.SearchAsync(query, 10).ToListAsync();
        Assert.Equal(expected.Select(x => x.Id), all.Select(r => r.Record.Key));
        for (int i = 0; i < all.Count; i++) Assert.Equal(expected[i].Score, all[i].Score!.Value, 4);
        Assert.All(all, r => Assert.Null(r.Record.Vector));

        var page = await c.SearchAsync(query, 2, new() { Skip = 2, IncludeVectors = true }).ToListAsync();
        Assert.Equal(expected.Skip(2).Take(2).Select(x => x.Id), page.Select(r => r.Record.Key));
        Assert.Equal(Points[page[0].Record.Key].Select(v => (double)v), page[0].Record.Vector!.Select(v => (double)v), new ToleranceComparer(1e-5));

        double threshold = (expected[2].Score + expected[3].Score) / 2;
        var passing = await c.SearchAsync(query, 10, new() { ScoreThreshold = threshold }).ToListAsync();
        Assert.Equal(expected.Take(3).Select(x => x.Id), passing.Select(r => r.Record.Key));
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance * Math.Max(1, Math.Abs(x));
        public int GetHashCode(double obj) => 0;
    }

    public sealed class DefinedRecord
    {
        public long Key { get; set; }
        public string Label { get; set; } = "";
        public float[]? Vector { get; set; }
    }

    public sealed class Point3
    {
        [VectorStoreKey] public int Key { get; set; }
        [VectorStoreData(IsIndexed = true)] public int Bucket { get; set; }
        [VectorStoreVector(3, DistanceFunction = DistanceFunction.EuclideanSquaredDistance)] public float[] Vector { get; set; } = [];
    }

    /// <summary>
    /// A 3-dimensional IvfPq collection searches exactly until it holds enough vectors to train (here 256, with nlist 8),
    /// then through its trained index; both answer as brute force does on these well-separated points.
    /// </summary>
    [Fact]
    public async Task SmallDimensionsTrainOnceLargeEnough()
    {
        using var store = new EmbeddedVectorsVectorStore(Path.Combine(Dir.Path, "ivf"), new EmbeddedVectorsVectorStoreOptions
        {
            Index = new EmbeddedVectorsIndexSettings { NList = 8, TrainingThreshold = 256, NProbe = 8 },
        });
        var c = store.GetCollection<int, Point3>("points");
        await c.EnsureCollectionExistsAsync();
        var random = new Random(5);
        var points = Enumerable.Range(0, 600).Select(i => new Point3
        {
            Key = i,
            Bucket = i % 4,
            Vector = [(float)random.NextDouble() * 10, (float)random.NextDouble() * 10, (float)random.NextDouble() * 10],
        }).ToList();
        var inner = (EmbeddedVectorStore)null!;
        for (int start = 0; start < points.Count; start += 200)
        {
            await c.UpsertAsync(points.Skip(start).Take(200));
            inner = (EmbeddedVectorStore)c.GetService(typeof(EmbeddedVectorStore))!;
            Assert.Equal(start + 200 >= 256, inner.IsTrained);
            float[] query = [5, 5, 5];
            var truth = points.Take(start + 200).Where(p => p.Bucket == 1)
                .OrderBy(p => Sq(p.Vector, query)).ThenBy(p => p.Key).Take(10).Select(p => p.Key);
            var hits = await c.SearchAsync(query, 10, new() { Filter = p => p.Bucket == 1 }).ToListAsync();
            Assert.Equal(truth, hits.Select(h => h.Record.Key));
        }
    }

    private static float Sq(float[] a, float[] b)
    {
        float s = 0;
        for (int i = 0; i < a.Length; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
        return s;
    }
}
