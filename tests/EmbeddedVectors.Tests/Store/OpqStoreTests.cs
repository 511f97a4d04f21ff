namespace EmbeddedVectors.Tests.Store;

public sealed class OpqStoreTests
{
    [Fact]
    public void A_store_with_opq_keeps_its_rotation_and_answers_identically_after_reopening()
    {
        var data = RealData.Instance;
        using var dir = new TempStoreDirectory();
        var options = new EmbeddedVectorStoreOptions
        {
            Dimension = data.Dimension, NList = 64, M = 48, Opq = true, OpqIterations = 4,
            // Buffered entries are sealed on close: float32 rows keep their re-ranked distances bit for bit.
            Rows = RowEncoding.Float32,
            KMeans = new EmbeddedVectors.Training.KMeansOptions { Iterations = 6 },
        };
        var search = new StoreSearchOptions { NProbe = 8, Rerank = 50 };
        long[] before;
        using (var store = EmbeddedVectorStore.Create(dir.Path, options))
        {
            store.Train(data.Base.AsSpan(0, 10_000 * data.Dimension));
            store.AddRange(Enumerable.Range(0, 12_000).Select(i => (long)i).ToArray(), data.Base.AsSpan(0, 12_000 * data.Dimension));
            Assert.True(store.GetInfo().Opq);
            before = store.SearchBatch(data.Queries, 10, search).Ids;
            // Stored vectors stay unrotated: Get returns what was added.
            Assert.Equal(data.Base.AsSpan(5 * data.Dimension, data.Dimension).ToArray(), store.Get(5)!.Vector);
        }
        Assert.True(File.Exists(Path.Combine(dir.Path, "rotation.evq")));
        using (var reopened = EmbeddedVectorStore.Open(dir.Path))
            Assert.Equal(before, reopened.SearchBatch(data.Queries, 10, search).Ids);

        var rotation = Path.Combine(dir.Path, "rotation.evq");
        var bytes = File.ReadAllBytes(rotation);
        bytes[100] ^= 0x40;
        File.WriteAllBytes(rotation, bytes);
        Assert.Contains("rotation", Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path)).Message);
    }
}
