using EmbeddedVectors.Indexes;
using EmbeddedVectors.Search;

namespace EmbeddedVectors.Tests.Indexes;

/// <summary>Every public entry point of every index kind rejects bad input with a message naming the problem.</summary>
public sealed class ArgumentTests
{
    public static TheoryData<string> Kinds() => new() { "flat", "ivf", "pq", "ivfpq" };

    private static VectorIndex Create(string kind, int dimension = 8) => kind switch
    {
        "flat" => new FlatIndex(dimension),
        "ivf" => new IvfFlatIndex(dimension, 4),
        "pq" => new PqIndex(dimension, 4),
        _ => new IvfPqIndex(dimension, Metric.L2, new IvfPqOptions { NList = 4, M = 4, StoreVectors = false }),
    };

    private static VectorIndex Trained(string kind)
    {
        var index = Create(kind);
        var random = new Random(1);
        var data = new float[400 * 8];
        for (int i = 0; i < data.Length; i++) data[i] = random.NextSingle();
        index.Train(data);
        index.Add(data);
        return index;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Wrong_dimension_is_rejected(string kind)
    {
        var index = Trained(kind);
        Assert.Contains("dimension", Assert.Throws<ArgumentException>(() => index.Add(new float[7])).Message);
        Assert.Contains("8-dimensional", Assert.Throws<ArgumentException>(() => index.Search(new float[9], 1)).Message);
        Assert.Throws<ArgumentException>(() => index.Add(new float[16], new long[3]));
        Assert.Throws<ArgumentException>(() => index.SearchBatch(new float[12], 1));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Nan_and_infinity_are_rejected(string kind)
    {
        var index = Trained(kind);
        var bad = new float[8];
        bad[3] = float.NaN;
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => index.Add(bad)).Message);
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => index.Search(bad, 1)).Message);
        bad[3] = float.PositiveInfinity;
        Assert.Contains("infinite", Assert.Throws<ArgumentException>(() => index.Add(bad)).Message);
        Assert.Contains("infinite", Assert.Throws<ArgumentException>(() => index.Train(bad)).Message);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Bad_k_and_search_parameters_are_rejected(string kind)
    {
        var index = Trained(kind);
        var query = new float[8];
        Assert.Throws<ArgumentOutOfRangeException>(() => index.Search(query, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.Search(query, -3));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.SearchBatch(query, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.SearchBatch(query, 1, threads: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.Search(query, 1, new SearchParameters { NProbe = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.Search(query, 1, new SearchParameters { Rerank = -1 }));
        Assert.Throws<ArgumentException>(() => index.Search(query, new long[2], new float[3]));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Searching_returns_fewer_hits_when_the_index_holds_fewer(string kind)
    {
        var index = Trained(kind);
        var hits = index.Search(new float[8], 1000, new SearchParameters { NProbe = 4 });
        Assert.Equal(400, hits.Length);
    }

    [Theory]
    [InlineData("ivf")]
    [InlineData("pq")]
    [InlineData("ivfpq")]
    public void Untrained_indexes_refuse_adds_and_searches(string kind)
    {
        var index = Create(kind);
        Assert.False(index.IsTrained);
        Assert.Contains("Train", Assert.Throws<InvalidOperationException>(() => index.Add(new float[8])).Message);
        Assert.Throws<InvalidOperationException>(() => index.Search(new float[8], 1));
    }

    [Fact]
    public void Constructors_reject_bad_shapes()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FlatIndex(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IvfFlatIndex(8, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FlatIndex(8, (Metric)7));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IvfPqIndex(8, Metric.L2, new IvfPqOptions { NList = 0, M = 2 }));
        Assert.Throws<ArgumentException>(() => MetricNames.Parse("manhattan"));
        Assert.Equal(Metric.InnerProduct, MetricNames.Parse("IP"));
    }

    [Fact]
    public void Too_few_training_vectors_for_nlist_is_a_clear_error()
    {
        var index = new IvfFlatIndex(2, 10);
        Assert.Contains("nlist", Assert.Throws<ArgumentException>(() => index.Train(new float[10])).Message);
    }

    [Fact]
    public void Rerank_without_stored_vectors_is_a_clear_error()
    {
        var index = Trained("ivfpq");
        var e = Assert.Throws<InvalidOperationException>(() => index.Search(new float[8], 1, new SearchParameters { Rerank = 10 }));
        Assert.Contains("StoreVectors", e.Message);
    }
}
