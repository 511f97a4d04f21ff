using EmbeddedVectors.IO;

namespace EmbeddedVectors.Tests.IO;

/// <summary>Reads the real debian-minilm-384 files from ../shared (CI has them; a missing directory fails loudly).</summary>
public sealed class SharedDataTests
{
    [Fact]
    public void Query_and_ground_truth_have_the_documented_shapes()
    {
        using (var queries = VectorFileReader.Open(TestData.RequireSharedData("query.fvecs")))
        {
            Assert.Equal(1000, queries.Count);
            Assert.Equal(384, queries.Dimension);
            var first = new float[384];
            Assert.Equal(1, queries.ReadFloats(first));
            // The model L2-normalises its embeddings.
            Assert.Equal(1.0, Math.Sqrt(first.Sum(v => (double)v * v)), 3);
        }

        string truthPath = TestData.RequireSharedData("groundtruth.ivecs");
        using (var truth = VectorFileReader.Open(truthPath))
        {
            Assert.Equal(1000, truth.Count);
            Assert.Equal(100, truth.Dimension);
        }
        int[] ids = VectorFile.ReadAllInt32(truthPath, out int k);
        Assert.Equal(100, k);
        Assert.All(ids, id => Assert.InRange(id, 0, 60_628));
    }

    [Fact]
    public void Base_vectors_stream_through_in_batches()
    {
        using var reader = VectorFileReader.Open(TestData.RequireSharedData("base.fvecs"));
        Assert.Equal(60_629, reader.Count);
        Assert.Equal(384, reader.Dimension);
        var batch = new float[1000 * 384];
        long rows = 0;
        int read;
        while ((read = reader.ReadFloats(batch)) > 0) rows += read;
        Assert.Equal(reader.Count, rows);
    }

    [Fact]
    public void RequireSharedData_names_where_it_looked_when_missing()
    {
        if (TestData.SharedDataDirectory is null)
        {
            var e = Assert.Throws<FileNotFoundException>(() => TestData.RequireSharedData("query.fvecs"));
            Assert.Contains("debian-minilm-384", e.Message);
        }
        else
        {
            Assert.Throws<FileNotFoundException>(() => TestData.RequireSharedData("no-such-file.fvecs"));
        }
    }
}
