using EmbeddedVectors.Storage;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Tests.Store;

/// <summary>Background tiered merging keeps O(log N) segments, loses no entry and no deletion, and survives reopening.</summary>
public sealed class MergeTests
{
    private const int Unit = 400;

    private static EmbeddedVectorStoreOptions Options(int mergeFactor = 4) => new()
    {
        Dimension = RealData.Instance.Dimension,
        NList = 32,
        M = 48,
        TrainingThreshold = 1000,
        SealThreshold = Unit,
        MergeFactor = mergeFactor,
        KMeans = new KMeansOptions { Iterations = 6 },
        Rows = RowEncoding.Float32, // vectors come back exactly
    };

    private static ReadOnlySpan<float> Row(int row) => RealRows.Row(row);

    private static void AddRows(EmbeddedVectorStore store, int from, int count) => RealRows.Add(store, from, count, row => $"p{row}");

    [Fact]
    public void The_policy_merges_the_smallest_full_tier()
    {
        static List<int>? Pick(params long[] live) => EmbeddedVectorStore.PickMerge(live.Select(n => (n, n)).ToList(), 4, Unit);

        Assert.Null(EmbeddedVectorStore.PickMerge([], 4, Unit));
        // Tier 0 holds [1, 4) units, tier 1 [4, 16), tier 2 [16, 64): three of a tier are not enough.
        Assert.Null(Pick(Unit, 3 * Unit, 2 * Unit, 4 * Unit, 15 * Unit, 16 * Unit));
        Assert.Equal([0, 2, 3, 5], Pick(Unit, 4 * Unit, 3 * Unit, Unit / 2, 5 * Unit, 3 * Unit + 399));
        // The smallest full tier goes first, and only the first four of it.
        Assert.Equal([1, 2, 4, 5], Pick(16 * Unit, 4 * Unit, 5 * Unit, 20 * Unit, 15 * Unit, 8 * Unit, 9 * Unit, 30 * Unit, 63 * Unit));
        // Deleted entries do not count towards the tier, and a merge whose ids could not be sorted in one array is skipped.
        Assert.Equal([0, 1, 2, 3], EmbeddedVectorStore.PickMerge([(Unit, 50 * Unit), (Unit, Unit), (Unit, Unit), (Unit, Unit)], 4, Unit));
        Assert.Null(EmbeddedVectorStore.PickMerge([(Unit, Array.MaxLength), (Unit, Unit), (Unit, Unit), (Unit, Unit)], 4, Unit));
    }

    [Fact]
    public void Many_seals_leave_few_segments_and_search_as_the_compacted_store_does()
    {
        using var dir = new TempStoreDirectory();
        using var compactedDir = new TempStoreDirectory();
        const int units = 21;
        using var store = EmbeddedVectorStore.Create(dir.Path, Options());
        store.Train(RealData.Instance.Base.AsSpan(0, 1000 * RealData.Instance.Dimension));
        for (int unit = 0; unit < units; unit++) AddRows(store, unit * Unit, Unit); // a seal each
        for (int id = 0; id < units * Unit; id += 7) store.Delete(id);
        store.Flush();
        store.WaitForMerges();
        var info = store.GetInfo();
        // 21 seal units with factor 4: at most 3 segments a tier over 3 tiers, and in practice 16 + 4 + 1.
        Assert.InRange(info.Segments, 1, 6);
        Assert.Equal(units * Unit - (units * Unit + 6) / 7, store.Count);

        // The same rows in a store that compacts to one segment: same hits, same distances.
        using var compacted = EmbeddedVectorStore.Create(compactedDir.Path, Options(mergeFactor: 0) with { SealThreshold = units * Unit });
        compacted.Train(RealData.Instance.Base.AsSpan(0, 1000 * RealData.Instance.Dimension));
        AddRows(compacted, 0, units * Unit);
        for (int id = 0; id < units * Unit; id += 7) compacted.Delete(id);
        compacted.Compact();
        Assert.Equal(1, compacted.GetInfo().Segments);
        Assert.Equal(store.Count, compacted.Count);

        for (int q = 0; q < 30; q++)
        {
            var query = RealData.Instance.Queries.AsSpan(q * RealData.Instance.Dimension, RealData.Instance.Dimension);
            var exactOptions = new StoreSearchOptions { NProbe = 32 };
            var a = store.Search(query, 10, exactOptions);
            var b = compacted.Search(query, 10, exactOptions);
            Assert.Equal(10, a.Count);
            Assert.All(a, hit => Assert.NotEqual(0, hit.Id % 7));
            // Both trained on the same first 1000 rows, so the codes and distances are the same; only the order of
            // equal distances may differ with the segment layout.
            Assert.Equal(b.Select(h => h.Distance), a.Select(h => h.Distance));
            Assert.Equal(b.Select(h => h.Id).Order(), a.Select(h => h.Id).Order());
        }
        Assert.Equal($"p{Unit * 5 + 1}", store.Get(Unit * 5 + 1)!.PayloadText);
    }

    [Fact]
    public void Deletions_made_while_a_merge_runs_apply_to_the_merged_segment_and_survive_reopening()
    {
        using var dir = new TempStoreDirectory();
        EmbeddedVectorStore? store = null;
        var deletedDuringMerge = new List<long>();
        int hooked = 0;
        var options = Options() with
        {
            MergeWrittenHook = () =>
            {
                if (Interlocked.Exchange(ref hooked, 1) != 0) return;
                // On the merge thread, after the merged file is written and before the swap: delete and upsert entries
                // of the sources, then seal so their log records fall before the sealed-until address.
                for (long id = 3; id < 4 * Unit; id += 50)
                {
                    Assert.True(store!.Delete(id));
                    deletedDuringMerge.Add(id);
                }
                store!.Add(1, Row(2), "moved");
                store.Flush();
            },
        };
        store = EmbeddedVectorStore.Create(dir.Path, options);
        try
        {
            Assert.False(store.IsTrained);
            store.Train(RealData.Instance.Base.AsSpan(0, 1000 * RealData.Instance.Dimension));
            for (int unit = 0; unit < 4; unit++) AddRows(store, unit * Unit, Unit); // four seals: a full tier
            store.WaitForMerges();
            Assert.Equal(1, hooked);
            Check(store);
        }
        finally { store.Dispose(); }

        using var reopened = EmbeddedVectorStore.Open(dir.Path, Options(mergeFactor: 0));
        Check(reopened);

        void Check(EmbeddedVectorStore s)
        {
            Assert.Equal(4 * Unit - deletedDuringMerge.Count, s.Count);
            foreach (long id in deletedDuringMerge) Assert.False(s.Contains(id));
            Assert.Equal("moved", s.Get(1)!.PayloadText);
            Assert.Equal(RealData.Instance.Base.AsSpan(2 * RealData.Instance.Dimension, RealData.Instance.Dimension).ToArray(), s.Get(1)!.Vector);
            var hits = s.Search(Row(2), 3, new StoreSearchOptions { NProbe = 32, Rerank = 20 });
            Assert.Equal(2, hits.Count(h => h.Distance == 0f)); // rows 2 and 1 (a copy of row 2)
            Assert.True(s.GetInfo().Segments <= 2);
        }
    }
}
