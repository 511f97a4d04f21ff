using System.Text;

namespace EmbeddedVectors.Tests.Store;

/// <summary>The store's behaviour, run on each payload log (<see cref="FasterLogStoreBasicsTests"/>, <see cref="InMemoryLogStoreBasicsTests"/>).</summary>
public abstract class StoreBasicsTests(LogKind log) : StoreLogTests(log)
{
    private static EmbeddedVectorStoreOptions SmallOptions(Metric metric = Metric.L2) => new()
    {
        Dimension = RealData.Instance.Dimension,
        Metric = metric,
        NList = 64,
        M = 48,
        TrainingThreshold = 4000,
        SealThreshold = 3000,
        KMeans = new EmbeddedVectors.Training.KMeansOptions { Iterations = 8 },
    };

    private static byte[] PayloadOf(long id) => Encoding.UTF8.GetBytes($"{{\"id\":{id}}}");

    private static void AddRows(EmbeddedVectorStore store, int from, int count)
    {
        var data = RealData.Instance;
        var ids = new long[count];
        var payloads = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            ids[i] = from + i;
            payloads[i] = PayloadOf(from + i);
        }
        store.AddRange(ids, data.Base.AsSpan(from * data.Dimension, count * data.Dimension), payloads);
    }

    [Fact]
    public void Add_commit_close_reopen_search_and_get()
    {
        using var dir = new TempStoreDirectory();
        var data = RealData.Instance;
        using (var store = Create(dir.Path, SmallOptions()))
        {
            AddRows(store, 0, 10_000);
            store.Commit();
            Assert.True(store.IsTrained);
            Assert.Equal(10_000, store.Count);
        }
        using (var store = Open(dir.Path))
        {
            Assert.Equal(10_000, store.Count);
            var entry = store.Get(1234);
            Assert.NotNull(entry);
            Assert.Equal(PayloadOf(1234), entry!.Payload);
            // Sealed, so at the default row precision (float16: 11 significant bits).
            var added = data.Base.AsSpan(1234 * data.Dimension, data.Dimension);
            for (int j = 0; j < data.Dimension; j++) Assert.Equal(added[j], entry.Vector[j], Math.Abs(added[j]) / 1024 + 1e-7f);
            var hits = store.Search(data.Base.AsSpan(77 * data.Dimension, data.Dimension), 5, new StoreSearchOptions { NProbe = 8, Rerank = 50 });
            Assert.Equal(77, hits[0].Id);
            Assert.Equal("{\"id\":77}", hits[0].PayloadText);
            Assert.Null(store.Get(99_999));
        }
    }
}

/// <summary><see cref="StoreBasicsTests"/> on the FASTER log.</summary>
public sealed class FasterLogStoreBasicsTests() : StoreBasicsTests(LogKind.Faster);

/// <summary><see cref="StoreBasicsTests"/> on an in-memory log.</summary>
public sealed class InMemoryLogStoreBasicsTests() : StoreBasicsTests(LogKind.InMemory);
