using EmbeddedVectors.Tests.Store;

namespace EmbeddedVectors.Tests.Filtering;

/// <summary>
/// Fields declared after creation (<see cref="EmbeddedVectorStore.AddFields"/>): null for what was stored before,
/// filterable at once for what comes after, kept through reopen, seal, merge and compaction, seen by readers.
/// </summary>
public class AddFieldTests
{
    private const int Dim = 16;

    private static float[] Vectors(int n, int seed)
    {
        var random = new Random(seed);
        var v = new float[n * Dim];
        for (int i = 0; i < v.Length; i++) v[i] = (float)(random.NextDouble() * 2 - 1) + (i / Dim % 4) * 3;
        return v;
    }

    private static EmbeddedVectorStore Create(TempStoreDirectory dir, int trainingThreshold, params FieldDefinition[] fields)
        => EmbeddedVectorStore.Create(dir.Path, new EmbeddedVectorStoreOptions
        {
            Dimension = Dim, NList = 4, M = 4, TrainingThreshold = trainingThreshold, SealThreshold = 300, Fields = fields,
            Rows = RowEncoding.Float32,
        });

    /// <summary>Adds ids [from, to) with the vectors' rows of the same index; <paramref name="values"/> gives each one's fields.</summary>
    private static void AddRange(EmbeddedVectorStore store, float[] vectors, long from, long to, Func<long, FieldValues?> values)
    {
        int n = (int)(to - from);
        var ids = new long[n];
        var fields = new FieldValues?[n];
        for (int i = 0; i < n; i++)
        {
            ids[i] = from + i;
            fields[i] = values(from + i);
        }
        store.AddRange(ids, vectors.AsSpan((int)from * Dim, n * Dim), null, fields);
    }

    private static FieldValues? Colour(long id) => id % 3 == 0 ? null : new FieldValues().Set("colour", id % 3 == 1 ? "red" : "blue").Set("rank", id);

    /// <summary>The live ids a filter on the new fields must list: those given new-field values that pass <paramref name="matches"/>.</summary>
    private static long[] Expected(IEnumerable<long> live, Func<long, bool> hasNewFields, Func<long, bool> matches)
        => live.Where(id => hasNewFields(id) && Colour(id) != null && matches(id)).Order().ToArray();

    private static void AssertFiltered(EmbeddedVectorStore store, float[] vectors, long[] live, Func<long, bool> hasNewFields)
    {
        Assert.Equal(live.Where(id => !hasNewFields(id) || Colour(id) == null).Order(), store.FindIds(Filter.Parse("colour is null")));
        var red = Expected(live, hasNewFields, id => id % 3 == 1);
        Assert.Equal(red, store.FindIds(Filter.Parse("colour == 'red'")));
        Assert.Equal(Expected(live, hasNewFields, id => id >= 1200), store.FindIds(Filter.Field("rank") >= 1200L));
        Assert.Contains(store.Fields, field => field.Name == "bucket"); // the original field keeps working beside the new ones
        Assert.Equal(live.Where(id => id % 10 == 3).Order(), store.FindIds(Filter.Field("bucket") == 3L));

        // Filtered search returns min(k, matches) hits, every one of them red, at any query.
        var redSet = red.ToHashSet();
        for (int q = 0; q < 5; q++)
        {
            var hits = store.Search(vectors.AsSpan(q * 97 * Dim, Dim), 10, new StoreSearchOptions { Where = Filter.Parse("colour == 'red'") });
            Assert.Equal(Math.Min(10, red.Length), hits.Count);
            Assert.All(hits, hit => Assert.Contains(hit.Id, redSet));
        }
    }

    [Fact]
    public void FieldsAddedToATrainedStoreAreNullBeforeAndFilterableAfter()
    {
        using var dir = new TempStoreDirectory();
        var vectors = Vectors(1600, 3);
        var store = Create(dir, 256, new FieldDefinition("bucket", FieldType.Long));
        try
        {
            // 1,000 entries before the change: three sealed segments and a buffer of 100.
            AddRange(store, vectors, 0, 1000, id => new FieldValues().Set("bucket", id % 10));
            Assert.True(store.IsTrained);
            store.AddFields(new FieldDefinition("colour", FieldType.String), new FieldDefinition("rank", FieldType.Long));
            Assert.Equal(["bucket", "colour", "rank"], store.Fields.Select(field => field.Name));
            Assert.Equal(1000, store.FindIds(Filter.Parse("colour is null")).Length);

            // Upsert every fourth old entry with values, add 600 new ones; delete a few of each.
            Func<long, FieldValues?> both = id => (Colour(id) ?? new FieldValues()).Set("bucket", id % 10);
            for (long id = 0; id < 1000; id += 4) store.Add(id, vectors.AsSpan((int)id * Dim, Dim), ReadOnlySpan<byte>.Empty, both(id));
            AddRange(store, vectors, 1000, 1600, both);
            for (long id = 2; id < 1600; id += 50) store.Delete(id);
            store.Commit();
            long[] live = Enumerable.Range(0, 1600).Select(i => (long)i).Where(id => (id - 2) % 50 != 0).ToArray();
            Func<long, bool> hasNewFields = id => id >= 1000 || id % 4 == 0;
            AssertFiltered(store, vectors, live, hasNewFields);

            // Reopen: segments written before the change have no column for the new fields.
            store.Dispose();
            store = EmbeddedVectorStore.Open(dir.Path);
            Assert.Equal(["bucket", "colour", "rank"], store.Fields.Select(field => field.Name));
            AssertFiltered(store, vectors, live, hasNewFields);

            // Compaction rewrites every entry into one segment with every column.
            store.Compact();
            store.WaitForMerges();
            AssertFiltered(store, vectors, live, hasNewFields);
            store.Dispose();
            store = EmbeddedVectorStore.Open(dir.Path);
            AssertFiltered(store, vectors, live, hasNewFields);
        }
        finally { store.Dispose(); }
    }

    [Fact]
    public void FieldsAddedToAnUntrainedStoreWithoutFieldsSurviveReplayAndTraining()
    {
        using var dir = new TempStoreDirectory();
        var vectors = Vectors(1600, 5);
        var store = Create(dir, 1100);
        try
        {
            // No fields at creation; 1,000 entries live in the log and the untrained buffer.
            var ids = Enumerable.Range(0, 1000).Select(i => (long)i).ToArray();
            store.AddRange(ids, vectors.AsSpan(0, 1000 * Dim));
            store.AddFields(new FieldDefinition("bucket", FieldType.Long), new FieldDefinition("colour", FieldType.String), new FieldDefinition("rank", FieldType.Long));
            Assert.False(store.IsTrained);
            for (long id = 0; id < 1000; id++)
            {
                var values = id % 4 == 0 ? Colour(id) ?? new FieldValues() : new FieldValues();
                store.Add(id, vectors.AsSpan((int)id * Dim, Dim), ReadOnlySpan<byte>.Empty, values.Set("bucket", id % 10));
            }
            store.Commit();
            long[] live = ids;
            Func<long, bool> hasNewFields = id => id % 4 == 0;
            AssertFiltered(store, vectors, live, hasNewFields);

            // Reopen: the log is replayed under the new fields.
            store.Dispose();
            store = EmbeddedVectorStore.Open(dir.Path);
            AssertFiltered(store, vectors, live, hasNewFields);

            // Training (at 1,100 entries) re-files the buffer as codes with its columns.
            AddRange(store, vectors, 1000, 1600, id => (Colour(id) ?? new FieldValues()).Set("bucket", id % 10));
            Assert.True(store.IsTrained);
            store.Commit();
            live = [.. live, .. Enumerable.Range(1000, 600).Select(i => (long)i)];
            hasNewFields = id => id >= 1000 || id % 4 == 0;
            AssertFiltered(store, vectors, live, hasNewFields);
            store.Flush();
            store.Dispose();
            store = EmbeddedVectorStore.Open(dir.Path);
            AssertFiltered(store, vectors, live, hasNewFields);
        }
        finally { store.Dispose(); }
    }

    [Fact]
    public void AReadOnlyReaderSeesAddedFieldsAtRefresh()
    {
        using var dir = new TempStoreDirectory();
        var vectors = Vectors(600, 7);
        using var writer = Create(dir, 256, new FieldDefinition("bucket", FieldType.Long));
        AddRange(writer, vectors, 0, 400, id => new FieldValues().Set("bucket", id % 10));
        writer.Commit();
        using var reader = EmbeddedVectorStore.Open(dir.Path, new EmbeddedVectorStoreOptions { ReadOnly = true });
        Assert.Throws<ArgumentException>(() => reader.FindIds(Filter.Parse("colour == 'red'")));

        writer.AddFields(new FieldDefinition("colour", FieldType.String), new FieldDefinition("rank", FieldType.Long));
        AddRange(writer, vectors, 400, 600, id => (Colour(id) ?? new FieldValues()).Set("bucket", id % 10));
        writer.Commit();
        Assert.True(reader.Refresh());
        Assert.Equal(["bucket", "colour", "rank"], reader.Fields.Select(field => field.Name));
        Assert.Equal(Enumerable.Range(400, 200).Select(i => (long)i).Where(id => id % 3 == 1), reader.FindIds(Filter.Parse("colour == 'red'")));
        Assert.Throws<InvalidOperationException>(() => reader.AddFields(new FieldDefinition("other", FieldType.Bool)));
    }

    [Fact]
    public void AnAutoRefreshReaderFiltersOnAFieldAddedAfterItOpened()
    {
        using var dir = new TempStoreDirectory();
        var vectors = Vectors(600, 11);
        using var writer = Create(dir, 256, new FieldDefinition("bucket", FieldType.Long));
        AddRange(writer, vectors, 0, 400, id => new FieldValues().Set("bucket", id % 10));
        writer.Commit();
        using var reader = EmbeddedVectorStore.Open(dir.Path, new EmbeddedVectorStoreOptions { ReadOnly = true, AutoRefresh = true });
        writer.AddFields(new FieldDefinition("colour", FieldType.String), new FieldDefinition("rank", FieldType.Long));
        AddRange(writer, vectors, 400, 600, id => (Colour(id) ?? new FieldValues()).Set("bucket", id % 10));
        writer.Commit();
        // No explicit Refresh: the search notices the change before it checks the filter's field names.
        var hits = reader.Search(vectors.AsSpan(0, Dim), 10, new StoreSearchOptions { Where = Filter.Parse("colour == 'blue'") });
        Assert.Equal(10, hits.Count);
        Assert.All(hits, hit => Assert.True(hit.Id >= 400 && hit.Id % 3 == 2, $"id {hit.Id}"));
        Assert.Equal(Enumerable.Range(400, 200).Select(i => (long)i).Where(id => id % 3 == 1), reader.FindIds(Filter.Parse("colour == 'red'")));
    }

    [Fact]
    public void BadFieldAdditionsAreRejectedAndChangeNothing()
    {
        using var dir = new TempStoreDirectory();
        using var store = Create(dir, 256, new FieldDefinition("bucket", FieldType.Long));
        var already = Assert.Throws<ArgumentException>(() => store.AddFields(new FieldDefinition("bucket", FieldType.String)));
        Assert.Contains("'bucket' is already declared (long)", already.Message);
        var twice = Assert.Throws<ArgumentException>(() => store.AddFields(new FieldDefinition("x", FieldType.Long), new FieldDefinition("x", FieldType.Bool)));
        Assert.Contains("'x' is declared twice", twice.Message);
        var invalid = Assert.Throws<ArgumentException>(() => store.AddFields(new FieldDefinition("2nd", FieldType.Long)));
        Assert.Contains("'2nd' is not a valid field name", invalid.Message);
        Assert.Throws<ArgumentException>(() => store.AddFields(new FieldDefinition("id", FieldType.Long)));
        Assert.Equal(["bucket"], store.Fields.Select(field => field.Name));
        store.AddFields(); // nothing to add: no change
        Assert.Equal(["bucket"], store.Fields.Select(field => field.Name));
    }
}
