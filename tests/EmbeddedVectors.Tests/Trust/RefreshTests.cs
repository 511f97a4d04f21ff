using EmbeddedVectors.Tests.Store;

namespace EmbeddedVectors.Tests.Trust;

/// <summary>A read-only store sees a writer's commits, seals and compactions without reopening.</summary>
public sealed class RefreshTests
{
    private const int Dimension = 8;

    [Fact]
    public void A_read_only_store_sees_new_commits_seals_and_compactions_on_refresh_and_on_search()
    {
        using var dir = new TempStoreDirectory();
        var options = new EmbeddedVectorStoreOptions { Dimension = Dimension, NList = 4, M = 2, TrainingThreshold = 300, SealThreshold = 1000, MergeFactor = 0 };
        using var writer = EmbeddedVectorStore.Create(dir.Path, options);
        Add(writer, 0, 100);
        writer.Commit();
        using var reader = EmbeddedVectorStore.Open(dir.Path, new EmbeddedVectorStoreOptions { ReadOnly = true });
        using var auto = EmbeddedVectorStore.Open(dir.Path, new EmbeddedVectorStoreOptions { ReadOnly = true, AutoRefresh = true });
        Assert.Equal(100, reader.Count);
        Assert.False(reader.Refresh());

        Add(writer, 100, 500); // trains at 300 (a manifest change) and stays in the buffer
        writer.Commit();
        Assert.True(reader.Refresh());
        Assert.Equal(600, reader.Count);
        Assert.True(reader.IsTrained);
        Assert.Equal(ExpectedVector(550), reader.Get(550)!.Vector);

        writer.Delete(3);
        Add(writer, 600, 50);
        writer.Commit();
        Assert.True(reader.Refresh());
        Assert.Equal(649, reader.Count);
        Assert.Null(reader.Get(3));

        writer.Flush();
        writer.Delete(4);
        writer.Commit();
        Assert.True(reader.Refresh());
        Assert.Equal(648, reader.Count);
        Assert.Equal(1, reader.GetInfo().Segments);

        writer.Compact();
        Add(writer, 700, 10);
        writer.Commit();
        reader.Refresh();
        Assert.Equal(658, reader.Count);
        Assert.Equal(ExpectedVector(705), reader.Get(705)!.Vector);

        // AutoRefresh: the next search notices the writer's commits by the files' times alone.
        var hits = auto.Search(ExpectedVector(709), 1, new StoreSearchOptions { NProbe = 4, Rerank = 10 });
        Assert.Equal(709, hits[0].Id);
        Assert.Equal(658, auto.Count);
        Assert.False(writer.Refresh()); // a writer has nothing to refresh
    }

    private static void Add(EmbeddedVectorStore store, long start, int count)
    {
        var ids = new long[count];
        var vectors = new float[count * Dimension];
        for (int i = 0; i < count; i++)
        {
            ids[i] = start + i;
            ExpectedVector(ids[i]).CopyTo(vectors, i * Dimension);
        }
        store.AddRange(ids, vectors);
    }

    private static float[] ExpectedVector(long id)
    {
        var random = new Random((int)id + 1);
        var vector = new float[Dimension];
        for (int j = 0; j < Dimension; j++) vector[j] = random.NextSingle();
        return vector;
    }
}
