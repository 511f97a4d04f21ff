using System.Text;
using EmbeddedVectors.Kernels;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Tests.Store;

/// <summary>The store notices vectors drifting away from its training and retraining restores recall, keeping every entry.</summary>
public sealed class RetrainTests
{
    private const int Rows = 6000;

    private static EmbeddedVectorStoreOptions Options() => new()
    {
        Dimension = RealData.Instance.Dimension,
        NList = 32,
        M = 48,
        TrainingThreshold = 1000,
        SealThreshold = 2000,
        KMeans = new KMeansOptions { Iterations = 8 },
        Rows = RowEncoding.Float32, // vectors come back exactly
    };

    /// <summary>Row i, negated for the second half: vectors the first half's training never saw (a drift).</summary>
    private static float[] Vector(int i)
    {
        var row = RealRows.Row(i % (Rows / 2)).ToArray();
        if (i >= Rows / 2) for (int j = 0; j < row.Length; j++) row[j] = -row[j];
        return row;
    }

    private static double RecallOnDriftedQueries(EmbeddedVectorStore store)
    {
        int hits = 0, total = 0;
        for (int q = 0; q < 50; q++)
        {
            var query = RealData.Instance.Queries.AsSpan(q * RealData.Instance.Dimension, RealData.Instance.Dimension).ToArray();
            for (int j = 0; j < query.Length; j++) query[j] = -query[j];
            var exact = Enumerable.Range(Rows / 2, Rows / 2).OrderBy(i => VectorKernels.SquaredL2(query, Vector(i))).Take(10).ToHashSet();
            hits += store.Search(query, 10, new StoreSearchOptions { NProbe = 2 }).Count(h => exact.Contains((int)h.Id));
            total += 10;
        }
        return hits / (double)total;
    }

    [Fact]
    public void Drift_is_reported_and_retraining_restores_recall_and_keeps_every_entry()
    {
        using var dir = new TempStoreDirectory();
        double before, after;
        using (var store = EmbeddedVectorStore.Create(dir.Path, Options()))
        {
            for (int from = 0; from < Rows; from += 1000)
            {
                var ids = Enumerable.Range(from, 1000).Select(i => (long)i).ToArray();
                var vectors = ids.SelectMany(i => Vector((int)i)).ToArray();
                store.AddRange(ids, vectors, ids.Select(i => Encoding.UTF8.GetBytes($"p{i}")).ToList());
            }
            store.Delete(17);
            var info = store.GetInfo();
            Assert.True(info.TrainingError > 0);
            Assert.NotNull(info.RecentError);
            Assert.True(info.RecentError > 1.25 * info.TrainingError, $"recent {info.RecentError} vs training {info.TrainingError}");
            Assert.True(info.RetrainAdvised);
            before = RecallOnDriftedQueries(store);

            store.Retrain();
            info = store.GetInfo();
            Assert.False(info.RetrainAdvised);
            Assert.Equal(1, info.Segments);
            Assert.Equal(Rows - 1, store.Count);
            after = RecallOnDriftedQueries(store);
            Assert.True(after > before + 0.1, $"recall@10 at nprobe 2 on the drifted half: {before:F3} before retraining, {after:F3} after");
            Assert.Equal("p4321", store.Get(4321)!.PayloadText);
            Assert.False(store.Contains(17));
        }
        Assert.False(File.Exists(Path.Combine(dir.Path, "quantizer.evq")));
        using var reopened = EmbeddedVectorStore.Open(dir.Path, new EmbeddedVectorStoreOptions { ReadOnly = true });
        Assert.Equal(Rows - 1, reopened.Count);
        Assert.Equal(after, RecallOnDriftedQueries(reopened), 6);
        Assert.Equal(Vector(5000), reopened.Get(5000)!.Vector);
        Assert.Empty(EmbeddedVectorStore.Verify(dir.Path));
    }

    [Fact]
    public void Retraining_a_store_without_full_vectors_or_untrained_says_why()
    {
        using var dir = new TempStoreDirectory();
        using var store = EmbeddedVectorStore.Create(dir.Path, Options() with { StoreVectors = false });
        Assert.Contains("not trained", Assert.Throws<InvalidOperationException>(() => store.Retrain()).Message);
        RealRows.Add(store, 0, 1500, row => "");
        Assert.Contains("StoreVectors", Assert.Throws<InvalidOperationException>(() => store.Retrain()).Message);
    }
}
