using System.Buffers.Binary;
using System.Text;
using EmbeddedVectors.Search;
using EmbeddedVectors.Storage;
using EmbeddedVectors.Training;

namespace EmbeddedVectors.Tests.Store;

/// <summary>Stores whose segments keep float16 or int8 re-rank rows: recall, precision, reopen, compaction, damage.</summary>
public sealed class RowEncodingStoreTests
{
    private static readonly KMeansOptions QuickKMeans = new() { Iterations = 8 };
    private const int Dim = 32;

    private static EmbeddedVectorStoreOptions SmallOptions(RowEncoding rows) => new()
    {
        Dimension = Dim, NList = 16, M = 8, TrainingThreshold = 512, SealThreshold = 100_000, KMeans = QuickKMeans, Rows = rows,
    };

    private static float[] RandomVectors(int n, int seed)
    {
        var random = new Random(seed);
        var x = new float[n * Dim];
        for (int i = 0; i < x.Length; i++) x[i] = random.NextSingle() * 2 - 1;
        return x;
    }

    /// <summary>A trained store of 2,000 random vectors with ids 0..1999, sealed into one segment.</summary>
    private static EmbeddedVectorStore Filled(string path, RowEncoding rows, float[] vectors)
    {
        var store = EmbeddedVectorStore.Create(path, SmallOptions(rows));
        store.AddRange(Enumerable.Range(0, vectors.Length / Dim).Select(i => (long)i).ToArray(), vectors);
        store.Flush();
        return store;
    }

    private static BatchSearchResult Search(EmbeddedVectorStore store, float[] queries) =>
        store.SearchBatch(queries, 10, new StoreSearchOptions { NProbe = 16, Rerank = 200 }, threads: 1);

    [Fact]
    public void Recall_of_float16_and_int8_rows_against_flat_search_on_real_data()
    {
        var data = RealData.Instance;
        var recall = new Dictionary<RowEncoding, double>();
        BatchSearchResult? f32 = null, f16 = null;
        foreach (var rows in new[] { RowEncoding.Float32, RowEncoding.Float16, RowEncoding.Int8 })
        {
            using var dir = new TempStoreDirectory();
            using var store = EmbeddedVectorStore.Create(dir.Path, new EmbeddedVectorStoreOptions
            {
                Dimension = data.Dimension, NList = 128, M = 48, TrainingThreshold = 20_000, KMeans = QuickKMeans, Rows = rows,
            });
            store.Train(data.Base.AsSpan(0, 20_000 * data.Dimension));
            store.AddRange(Enumerable.Range(0, data.Count).Select(i => (long)i).ToArray(), data.Base);
            store.Flush();
            Assert.Equal(rows.ToShortName(), store.GetInfo().Rows);
            var result = store.SearchBatch(data.Queries, 10, new StoreSearchOptions { NProbe = 16, Rerank = 100 });
            recall[rows] = data.RecallOf(result.Ids, 10);
            if (rows == RowEncoding.Float32) f32 = result;
            if (rows == RowEncoding.Float16) f16 = result;
        }
        // Same training, so the shortlists are the same: only the rows' precision differs. f16 must meet the issue's
        // rule (within 0.002 of f32); i8 may lose a little, but not a regression's worth.
        Assert.True(recall[RowEncoding.Float32] > 0.92, $"f32 recall@10 {recall[RowEncoding.Float32]}");
        Assert.True(recall[RowEncoding.Float16] >= recall[RowEncoding.Float32] - 0.002, $"f16 {recall[RowEncoding.Float16]} vs f32 {recall[RowEncoding.Float32]}");
        Assert.True(recall[RowEncoding.Int8] >= recall[RowEncoding.Float32] - 0.02, $"i8 {recall[RowEncoding.Int8]} vs f32 {recall[RowEncoding.Float32]}");

        // Where f16 and f32 return the same id, the distances agree to half precision (unit vectors: |x − y| < 2^-11 a value).
        int compared = 0;
        for (int i = 0; i < f32!.Ids.Length; i++)
        {
            if (f32.Ids[i] != f16!.Ids[i]) continue;
            Assert.True(Math.Abs(f32.Distances[i] - f16.Distances[i]) <= 2e-3 * Math.Max(f32.Distances[i], 1e-3f) + 1e-5,
                $"slot {i}: f32 {f32.Distances[i]}, f16 {f16.Distances[i]}");
            compared++;
        }
        Assert.True(compared > f32.Ids.Length * 9 / 10, $"only {compared} slots agree");
    }

    [Theory]
    [InlineData(RowEncoding.Float16)]
    [InlineData(RowEncoding.Int8)]
    public void Reopen_and_compaction_keep_the_encoding_and_the_answers(RowEncoding rows)
    {
        using var dir = new TempStoreDirectory();
        var vectors = RandomVectors(2000, 1);
        var queries = RandomVectors(20, 2);
        BatchSearchResult before;
        using (var store = Filled(dir.Path, rows, vectors))
        {
            before = Search(store, queries);
            var stored = store.Get(7)!.Vector;
            float tolerance = rows == RowEncoding.Float16 ? 1e-3f : 2f / 255 + 1e-4f;
            for (int j = 0; j < Dim; j++) Assert.Equal(vectors[7 * Dim + j], stored[j], tolerance);
        }
        long rowBytes = Dim * (rows == RowEncoding.Float16 ? 2 : 1);
        AssertFiles(dir.Path, rows, segment: 1, count: 2000, rowBytes);

        using (var store = EmbeddedVectorStore.Open(dir.Path))
        {
            Assert.Equal(rows.ToShortName(), store.GetInfo().Rows);
            var reopened = Search(store, queries);
            Assert.Equal(before.Ids, reopened.Ids);
            Assert.Equal(before.Distances, reopened.Distances);
            for (long id = 0; id < 2000; id += 2) store.Delete(id);
            store.Compact();
            Assert.Equal(rows.ToShortName(), store.GetInfo().Rows);
            var compacted = Search(store, queries);
            // Every odd id keeps its distance exactly: compaction re-encodes the decoded row to the same bytes.
            for (int i = 0; i < before.Ids.Length; i++)
            {
                if (before.Ids[i] % 2 == 0) continue;
                int slot = Array.IndexOf(compacted.Ids, before.Ids[i], i / 10 * 10, 10);
                Assert.True(slot >= 0, $"id {before.Ids[i]} lost by compaction");
                Assert.Equal(before.Distances[i], compacted.Distances[slot]);
            }
        }
        AssertFiles(dir.Path, rows, segment: 2, count: 1000, rowBytes);
    }

    /// <summary>The segment is the newest version (3: compact id index) and the manifest version 2 (which older builds refuse); the .evv holds encoded rows.</summary>
    private static void AssertFiles(string path, RowEncoding rows, long segment, long count, long rowBytes)
    {
        var evv = File.ReadAllBytes(Path.Combine(path, SegmentWriter.VectorsFileName(segment)));
        var evs = File.ReadAllBytes(Path.Combine(path, SegmentWriter.CodesFileName(segment)));
        foreach (var header in new[] { evv, evs })
        {
            Assert.Equal(SegmentHeader.NewestFormatVersion, BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(SegmentHeader.VersionOffset)));
            Assert.Equal((uint)rows, BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(SegmentHeader.RowEncodingOffset)));
        }
        long vectorsLength = BinaryPrimitives.ReadInt64LittleEndian(evv.AsSpan(SegmentHeader.RegionsOffset + 8));
        Assert.Equal(count * rowBytes, vectorsLength);
        var manifest = File.ReadAllBytes(Path.Combine(path, Manifest.FileName));
        Assert.Equal(2, BinaryPrimitives.ReadInt32LittleEndian(manifest.AsSpan(ChecksummedFile.VersionOffset)));
        Assert.Contains($"\"rows\": \"{rows.ToShortName()}\"", Encoding.UTF8.GetString(manifest));
        Assert.Equal(rows == RowEncoding.Int8, File.Exists(Path.Combine(path, RowParametersFile.FileName)));
    }

    [Fact]
    public void Float32_stores_name_no_rows_in_the_manifest_and_f32_in_the_segment_headers()
    {
        using var dir = new TempStoreDirectory();
        Filled(dir.Path, RowEncoding.Float32, RandomVectors(1000, 3)).Dispose();
        // The manifest is version 2 for another reason (segments with payload files, the log's file size), but names no rows.
        var manifest = File.ReadAllBytes(Path.Combine(dir.Path, Manifest.FileName));
        Assert.Equal(2, BinaryPrimitives.ReadInt32LittleEndian(manifest.AsSpan(ChecksummedFile.VersionOffset)));
        Assert.DoesNotContain("\"rows\"", Encoding.UTF8.GetString(manifest));
        foreach (var file in new[] { SegmentWriter.CodesFileName(1), SegmentWriter.VectorsFileName(1) })
        {
            var header = File.ReadAllBytes(Path.Combine(dir.Path, file));
            // Version 3 (the compact id index) for every row encoding; older builds refuse it as newer.
            Assert.Equal(SegmentHeader.NewestFormatVersion, BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(SegmentHeader.VersionOffset)));
            Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(SegmentHeader.RowEncodingOffset)));
        }
        using var store = EmbeddedVectorStore.Open(dir.Path);
        Assert.Equal("f32", store.GetInfo().Rows);
    }

    [Theory]
    [InlineData(".evs", 3u)]
    [InlineData(".evs", 7u)]
    [InlineData(".evv", uint.MaxValue)]
    [InlineData(".evv", 0u)] // a known encoding, but not the manifest's
    public void An_unknown_or_mismatched_row_encoding_in_a_segment_header_is_a_corrupt_file(string extension, uint value)
    {
        using var dir = new TempStoreDirectory();
        Filled(dir.Path, RowEncoding.Float16, RandomVectors(1000, 4)).Dispose();
        string path = Path.Combine(dir.Path, extension == ".evs" ? SegmentWriter.CodesFileName(1) : SegmentWriter.VectorsFileName(1));
        var bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(SegmentHeader.RowEncodingOffset), value);
        // A consistent header checksum: the value itself is what is wrong, not a flipped bit.
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(SegmentHeader.ChecksumOffset), FileHeaders.Checksum(bytes.AsSpan(0, SegmentHeader.ChecksumOffset)));
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains(value == 0 ? "row encoding is f32, expected f16" : $"unknown row encoding {value}", e.Problem);
    }

    [Theory]
    [InlineData("\"rows\": \"f8\"")]
    [InlineData("\"rows\": 9")]
    [InlineData("\"rows\": 3")]
    public void An_unknown_row_encoding_in_the_manifest_is_a_corrupt_file(string rowsField)
    {
        using var dir = new TempStoreDirectory();
        Filled(dir.Path, RowEncoding.Float16, RandomVectors(1000, 5)).Dispose();
        string path = Path.Combine(dir.Path, Manifest.FileName);
        var json = Encoding.UTF8.GetString(File.ReadAllBytes(path).AsSpan(Manifest.Layout.HeaderSize)).Replace("\"rows\": \"f16\"", rowsField);
        var body = Encoding.UTF8.GetBytes(json);
        Manifest.Layout.Write(path, [body.Length], body);
        var e = Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path));
        Assert.Equal(path, e.FilePath);
    }

    [Fact]
    public void A_version_1_manifest_naming_other_rows_is_a_corrupt_file()
    {
        using var dir = new TempStoreDirectory();
        Filled(dir.Path, RowEncoding.Float16, RandomVectors(1000, 6)).Dispose();
        string path = Path.Combine(dir.Path, Manifest.FileName);
        var body = File.ReadAllBytes(path).AsSpan(Manifest.Layout.HeaderSize).ToArray();
        Manifest.Layout.Write(path, [body.Length], body, version: 1);
        var e = Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path));
        Assert.Contains("version 1 manifest cannot have f16 rows", e.Problem);
    }

    [Fact]
    public void An_int8_store_without_its_row_parameters_is_a_corrupt_file()
    {
        using var dir = new TempStoreDirectory();
        Filled(dir.Path, RowEncoding.Int8, RandomVectors(1000, 7)).Dispose();
        File.Delete(Path.Combine(dir.Path, RowParametersFile.FileName));
        var e = Assert.Throws<CorruptFileException>(() => EmbeddedVectorStore.Open(dir.Path));
        Assert.Contains("int8 rows", e.Problem);
    }

    [Fact]
    public void Without_vectors_the_rows_option_is_ignored()
    {
        using var dir = new TempStoreDirectory();
        using var store = EmbeddedVectorStore.Create(dir.Path, SmallOptions(RowEncoding.Int8) with { StoreVectors = false });
        Assert.Equal("f32", store.GetInfo().Rows);
    }
}
