using EmbeddedVectors.VectorData;
using Microsoft.Extensions.VectorData;

namespace EmbeddedVectors.Cluster.Tests;

/// <summary>
/// A silo stops: a search fails naming the shards it held, a write to one of them fails, the other shards still
/// answer reads; the silo restarts with the same name and data directory, and every committed entry is back.
/// </summary>
public sealed class SiloFailureTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    public sealed class Item
    {
        [VectorStoreKey] public long Id { get; set; }
        [VectorStoreData(IsIndexed = true)] public int Group { get; set; }
        [VectorStoreVector(8, DistanceFunction = DistanceFunction.EuclideanSquaredDistance, IndexKind = IndexKind.Flat)] public float[] Vector { get; set; } = [];
    }

    private static Item Make(long id) => new() { Id = id, Group = (int)(id % 5), Vector = [.. Enumerable.Range(0, 8).Select(d => (float)Math.Sin(id * 0.37 + d))] };

    [Fact]
    public async Task StoppedSiloFailsClearlyAndComesBackWithEveryEntry()
    {
        var store = new ClusterVectorStore(fixture.Cluster.Client, new ClusterVectorStoreOptions { ShardCount = 8 });
        var items = store.GetCollection<long, Item>("failover");
        await items.EnsureCollectionExistsAsync();
        var all = Enumerable.Range(0, 400).Select(i => Make(i)).ToList();
        await items.UpsertAsync(all);
        float[] query = Make(7).Vector;
        var before = await items.SearchAsync(query, 20).ToListAsync();
        Assert.Equal(7, before[0].Record.Id);

        var layout = (await fixture.Cluster.Client.GetGrain<ISiloCatalogGrain>(ShardPlacement.CatalogKey("Primary")).Find("failover"))!;
        var victim = fixture.Cluster.SecondarySilos[0];
        string victimName = victim.Name;
        int[] lost = [.. Enumerable.Range(0, layout.ShardCount).Where(s => layout.ShardSilos[s] == victimName)];
        Assert.NotEmpty(lost);
        // Searches running while the silo stops: each one either has every shard's answer or fails naming shards;
        // none returns a silent subset (a shard answering from elsewhere with no data).
        using var stopping = new CancellationTokenSource();
        var searching = Task.Run(async () =>
        {
            int complete = 0, failed = 0;
            while (!stopping.IsCancellationRequested)
            {
                try
                {
                    var hits = await items.SearchAsync(query, 20).ToListAsync();
                    Assert.Equal(before.Select(r => r.Record.Id), hits.Select(r => r.Record.Id));
                    complete++;
                }
                catch (ShardsUnavailableException) { failed++; }
            }
            return (complete, failed);
        });
        await fixture.Cluster.StopSiloAsync(victim);
        await Task.Delay(300);
        stopping.Cancel();
        var (completeSearches, failedSearches) = await searching;
        Assert.True(completeSearches + failedSearches > 0);

        var error = await Assert.ThrowsAsync<ShardsUnavailableException>(() => items.SearchAsync(query, 20).ToListAsync());
        foreach (int shard in lost) Assert.Contains($"{shard} (silo '{victimName}')", error.Message);
        Assert.DoesNotContain("(silo 'Primary')", error.Message);
        Assert.Equal(lost, error.UnavailableShards);

        // Allowing partial results: the merged hits of the other shards, exactly those of the full search that they hold.
        var partial = await items.SearchAllowingPartialAsync(query, 20);
        Assert.True(partial.IsPartial);
        Assert.Equal(lost, partial.UnavailableShards);
        var reachable = before.Where(r => !lost.Contains(ShardRouting.ShardOf(r.Record.Id, layout.ShardCount))).Select(r => r.Record.Id).ToList();
        Assert.Equal(reachable, partial.Results.Take(reachable.Count).Select(r => r.Record.Id));
        Assert.Equal(20, partial.Results.Count);
        Assert.DoesNotContain(partial.Results, r => lost.Contains(ShardRouting.ShardOf(r.Record.Id, layout.ShardCount)));

        // A write routed to a lost shard fails; reads from the other shards go on.
        long lostKey = all.First(i => lost.Contains(ShardRouting.ShardOf(i.Id, layout.ShardCount))).Id;
        long keptKey = all.First(i => !lost.Contains(ShardRouting.ShardOf(i.Id, layout.ShardCount))).Id;
        var writeError = await Assert.ThrowsAsync<ShardsUnavailableException>(() => items.UpsertAsync(Make(lostKey)));
        Assert.Contains(victimName, writeError.Message);
        Assert.Equal(keptKey, (await items.GetAsync(keptKey))!.Id);

        // The same silo name (instance number), so the same data directory.
        var restarted = await fixture.Cluster.RestartSiloAsync(victim);
        Assert.Equal(victimName, restarted!.Name);
        await fixture.Cluster.WaitForLivenessToStabilizeAsync();
        var after = await items.SearchAsync(query, 20).ToListAsync();
        Assert.False((await items.SearchAllowingPartialAsync(query, 20)).IsPartial);
        Assert.Equal(before.Select(r => r.Record.Id), after.Select(r => r.Record.Id));
        var every = await items.GetAsync(i => i.Group >= 0, 1000).ToListAsync();
        Assert.Equal(all.Select(i => i.Id), every.Select(i => i.Id));
        Assert.Equal(all[123].Vector, (await items.GetAsync(123, new RecordRetrievalOptions { IncludeVectors = true }))!.Vector);
    }

    [Fact]
    public async Task AShardNeverAnswersFromAnEmptyStore()
    {
        // A key naming a silo that is not in the cluster: placement refuses to activate it anywhere.
        var nowhere = fixture.Cluster.Client.GetGrain<IShardGrain>(ShardPlacement.ShardKey("ghost", 0, "no-such-silo"));
        var placement = await Assert.ThrowsAnyAsync<Exception>(() => nowhere.FindIds(null));
        Assert.Contains("no-such-silo", placement.Message);
        Assert.Contains("not an active member", placement.Message);

        // A shard on a live silo whose files are not there: an error naming the missing files, not an empty answer.
        var missing = fixture.Cluster.Client.GetGrain<IShardGrain>(ShardPlacement.ShardKey("ghost", 3, "Primary"));
        Assert.False(await missing.Exists());
        var files = await Assert.ThrowsAnyAsync<Exception>(() => missing.Search(new ShardSearch(new float[8], 5, 1, 0, null, false)));
        Assert.Contains("no files of shard 3 of collection 'ghost' on silo 'Primary'", files.Message);
    }
}
