using System.Globalization;
using System.Text;
using EmbeddedVectors.Cli.Commands;
using EmbeddedVectors.IO;
using EmbeddedVectors.Storage;

namespace EmbeddedVectors.Fuzz;

/// <summary>One seed file of a reader: where it lives under the corpus (a store, or the imports) and its bytes.</summary>
internal sealed record SeedFile(string Root, string RelativePath, FileKind Kind, byte[] Bytes);

/// <summary>
/// A reader under test: the seed files it reads and what one input runs. <see cref="Execute"/> gets the work copy
/// of the seed's root (a store directory or the imports directory) with the mutated file already in place.
/// </summary>
internal sealed class FuzzTarget(string name, IReadOnlyList<SeedFile> seeds, Action<string, SeedFile> execute, bool storeLevel)
{
    /// <summary>The reader's name in reports.</summary>
    public string Name { get; } = name;

    /// <summary>Seed files the inputs are mutated from.</summary>
    public IReadOnlyList<SeedFile> Seeds { get; } = seeds;

    /// <summary>Whether an input opens a whole store (tens of milliseconds) rather than one reader (well under one).</summary>
    public bool StoreLevel { get; } = storeLevel;

    /// <summary>Runs the reader over the work copy <paramref name="root"/> in which <paramref name="seed"/>'s file is mutated.</summary>
    public void Execute(string root, SeedFile seed) => execute(root, seed);
}

/// <summary>
/// The readers fuzzed and what each input does with them. File readers are called directly (the fast path that
/// carries most inputs); the store-level readers open the whole store read-only, search it, read entries and
/// run <see cref="EmbeddedVectorStore.Verify"/>, so the log (FASTER's records as <see cref="FasterPayloadLog"/>
/// parses them) and the way the files fit together are covered too.
/// </summary>
internal static class Targets
{
    /// <summary>Every reader, with its seed files from the corpus in <paramref name="corpus"/>.</summary>
    public static List<FuzzTarget> All(string corpus)
    {
        var files = new List<SeedFile>();
        foreach (string store in SeedCorpus.StoreNames) files.AddRange(SeedsUnder(Path.Combine(corpus, store)));
        files.AddRange(SeedsUnder(Path.Combine(corpus, SeedCorpus.ImportsDirectory)));
        List<SeedFile> Of(params FileKind[] kinds) => files.FindAll(f => Array.IndexOf(kinds, f.Kind) >= 0);

        return
        [
            new("MANIFEST", Of(FileKind.Manifest), (root, _) => Manifest.Read(root), storeLevel: false),
            new("quantizer.evq", Of(FileKind.Quantizer), ReadQuantizer, storeLevel: false),
            new("rotation.evq", Of(FileKind.Rotation), (root, _) => { var m = Manifest.Read(root); ExerciseRotation(RotationFile.Read(m.QuantizerPath(root), m.Dimension)); }, storeLevel: false),
            new("rows.evq", Of(FileKind.RowParameters), ReadRowParameters, storeLevel: false),
            new("coarse-graph.evq", Of(FileKind.CoarseGraph), ReadCoarseGraph, storeLevel: false),
            new("segment .evs (headers, list directory, regions)", Of(FileKind.SegmentCodes), OpenSegment, storeLevel: false),
            new("segment .evv (rows)", Of(FileKind.SegmentVectors), OpenSegment, storeLevel: false),
            new("segment .evp (payloads)", Of(FileKind.SegmentPayloads), OpenSegment, storeLevel: false),
            new("segment .evf (fields)", Of(FileKind.SegmentFields), OpenSegment, storeLevel: false),
            new("deletion bitmap", Of(FileKind.Deletions), OpenSegment, storeLevel: false),
            new(".fvecs/.ivecs/.bvecs", Of(FileKind.Fvecs, FileKind.Ivecs, FileKind.Bvecs), ReadVectorFile, storeLevel: false),
            new(".npy", Of(FileKind.Npy), ReadVectorFile, storeLevel: false),
            new("JSONL payloads (ev add)", Of(FileKind.Jsonl), CheckPayloads, storeLevel: false),
            new("log records (store open + verify)", Of(FileKind.LogSegment), OpenStore, storeLevel: true),
            new("log commit files (store open)", Of(FileKind.LogCommit), OpenStore, storeLevel: true),
            new("MANIFEST (store open + verify)", Of(FileKind.Manifest), OpenStore, storeLevel: true),
            new("any store file (store open + verify)", Of(FileKind.Manifest, FileKind.Quantizer, FileKind.Rotation, FileKind.CoarseGraph, FileKind.RowParameters,
                FileKind.SegmentCodes, FileKind.SegmentVectors, FileKind.SegmentPayloads, FileKind.SegmentFields, FileKind.Deletions), OpenStore, storeLevel: true),
        ];
    }

    private static IEnumerable<SeedFile> SeedsUnder(string root)
    {
        foreach (string path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(root, path);
            if (FileKinds.Of(relative) is { } kind) yield return new SeedFile(root, relative, kind, File.ReadAllBytes(path));
        }
    }

    private static void ReadQuantizer(string root, SeedFile _)
    {
        var manifest = Manifest.Read(root);
        var (coarse, pq) = QuantizerFile.Read(manifest.QuantizerPath(root), manifest);
        var query = Query(manifest.Dimension);
        Span<long> lists = stackalloc long[4];
        Span<float> distances = stackalloc float[4];
        coarse.Probe(query, lists, distances);
        var table = new float[pq.SubQuantizers * (1 << pq.Bits)];
        pq.ComputeDistanceTable(query, manifest.Metric.RankingMetric(), table);
    }

    private static void ReadRowParameters(string root, SeedFile seed)
    {
        var manifest = Manifest.Read(root);
        var codec = RowParametersFile.Read(manifest.QuantizerPath(root), manifest.Dimension);
        var row = new byte[codec.RowBytes];
        var decoded = new float[manifest.Dimension];
        codec.Encode(Query(manifest.Dimension), row);
        codec.Decode(row, decoded);
    }

    private static void ReadCoarseGraph(string root, SeedFile seed)
    {
        var manifest = Manifest.Read(root);
        string directory = manifest.QuantizerPath(root);
        var (coarse, _) = QuantizerFile.Read(directory, manifest);
        coarse.AttachGraph(CoarseGraphFile.Read(directory, manifest, coarse));
        Span<long> lists = stackalloc long[8];
        Span<float> distances = stackalloc float[8];
        coarse.ProbeGraph(Query(manifest.Dimension), lists, distances, out _);
    }

    private static void ExerciseRotation(Training.OpqRotation rotation)
    {
        var rotated = new float[rotation.Dimension];
        rotation.Apply(Query(rotation.Dimension), rotated);
    }

    /// <summary>Opens the segment the mutated file belongs to (all of its files) and reads all of it.</summary>
    private static void OpenSegment(string root, SeedFile seed)
    {
        var manifest = Manifest.Read(root);
        long number = long.Parse(Path.GetFileName(seed.RelativePath).AsSpan(4, 6), CultureInfo.InvariantCulture); // seg-NNNNNN.*
        foreach (var entry in manifest.Segments)
        {
            if (entry.Number != number) continue;
            var sealedSegment = SealedSegment.Open(root, entry, manifest.Shape, manifest.Fields);
            try
            {
                ReadAll(sealedSegment);
            }
            finally
            {
                sealedSegment.Segment.Dispose();
                sealedSegment.Payloads?.Dispose();
            }
        }
    }

    private static void ReadAll(SealedSegment sealedSegment)
    {
        var segment = sealedSegment.Segment;
        segment.Verify();
        sealedSegment.Payloads?.Verify();
        var code = new byte[segment.Shape.CodeSize];
        for (int list = 0; list < segment.Shape.NList; list++)
        {
            var ids = segment.Ids(list);
            _ = segment.Codes(list).Length + segment.PayloadAddresses(list).Length;
            for (int i = 0; i < ids.Length; i++)
            {
                segment.CodeAt(list, i, code);
                long position = segment.ListStart(list) + i;
                if (segment.Find(ids[i]) != position) throw new InvalidOperationException($"Find({ids[i]}) did not return {position} after Verify passed.");
                _ = sealedSegment.Deleted.IsDeleted(position);
                if (segment.Rows != null) _ = segment.VectorAt(position)[0];
                sealedSegment.Payloads?.Read(segment.PayloadAddressAt(position), ids[i]);
                _ = sealedSegment.Fields?.Count;
            }
        }
    }

    private static void ReadVectorFile(string root, SeedFile seed)
    {
        using var reader = VectorFileReader.Open(Path.Combine(root, seed.RelativePath));
        // A buffer of at most 64 rows, and no more rows than the file holds, so that what this harness allocates
        // stays within the bound for the file's size.
        int rows = (int)Math.Clamp(reader.Count, 1, 64);
        if (reader.ElementType is VectorElementType.Int32 or VectorElementType.Int64 || seed.Kind == FileKind.Ivecs)
        {
            var longs = new long[Math.Max(reader.Dimension, 1) * rows];
            while (reader.ReadInt64(longs) > 0) { }
        }
        else
        {
            var floats = new float[reader.Dimension * rows];
            while (reader.ReadFloats(floats) > 0) { }
        }
    }

    private static void CheckPayloads(string root, SeedFile seed) =>
        AddCommand.CheckPayloads(Path.Combine(root, seed.RelativePath), 200, Path.Combine(root, SeedCorpus.PayloadVectorsFile), SeedCorpus.Dimension, SeedCorpus.Fields);

    /// <summary>Opens the store read-only, searches it, reads entries, then verifies every checksum (which replays the whole log).</summary>
    private static void OpenStore(string root, SeedFile _)
    {
        Trace("open");
        using (var store = EmbeddedVectorStore.Open(root, new EmbeddedVectorStoreOptions { ReadOnly = true }))
        {
            Trace("search");
            var hits = store.Search(Query(store.Dimension), 10, new StoreSearchOptions { NProbe = 4 });
            Trace("get");
            foreach (var hit in hits) store.Get(hit.Id);
            for (long id = 0; id < 1200; id += 97) store.Get(id);
            Trace("info");
            store.GetInfo();
            Trace("dispose");
        }
        Trace("verify");
        var problems = EmbeddedVectorStore.Verify(root);
        foreach (string problem in problems)
            if (!problem.Contains(root, StringComparison.Ordinal))
                throw new InvalidOperationException($"Verify reported a problem that names no file of the store: {problem}");
    }

    private static readonly bool Tracing = Environment.GetEnvironmentVariable("EV_FUZZ_TRACE") == "1";

    /// <summary>With EV_FUZZ_TRACE=1, says on stderr which step of a store-level input is running (to place a hang).</summary>
    private static void Trace(string step)
    {
        if (Tracing) Console.Error.WriteLine($"{DateTime.Now:HH:mm:ss.fff} {step}");
    }

    private static float[] Query(int dimension)
    {
        var query = new float[dimension];
        for (int i = 0; i < dimension; i++) query[i] = MathF.Sin(i + 1) * 0.1f;
        return query;
    }

    /// <summary>A short description of a seed, for reports.</summary>
    public static string Describe(SeedFile seed) => new StringBuilder(Path.GetFileName(seed.Root)).Append('/').Append(seed.RelativePath).ToString();
}
