using EmbeddedVectors.Storage;
using EmbeddedVectors.Tests.IO;

namespace EmbeddedVectors.Tests.Storage;

/// <summary>The small files' shared header keeps the byte layouts docs/format describes and older stores use.</summary>
public sealed class ChecksummedFileTests : IDisposable
{
    private static readonly string FixtureDirectory = Path.Combine(AppContext.BaseDirectory, "Fixtures", "legacy-v1");
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Named_offsets_are_those_of_the_documented_layouts()
    {
        Assert.Equal((12, 16, -1, 24), Offsets(Manifest.Layout, 0));
        Assert.Equal((24, 32, 40, 48), Offsets(QuantizerFile.Layout, 3));
        Assert.Equal((12, 16, 24, 32), Offsets(RotationFile.Layout, 0));
    }

    private static (int Field, int BodyChecksum, int HeaderChecksum, int HeaderSize) Offsets(ChecksummedFile layout, int field) =>
        (ChecksummedFile.FieldOffset(field), layout.BodyChecksumOffset, layout.HeaderChecksumOffset, layout.HeaderSize);

    [Theory]
    [InlineData("legacy-pq8")]
    [InlineData("legacy-fs")]
    public void Rewriting_what_a_legacy_store_holds_gives_the_same_bytes_or_the_same_manifest(string name)
    {
        string legacy = Path.Combine(FixtureDirectory, name);
        var manifest = Manifest.Read(legacy);
        manifest.Write(_temp.Path);
        var (coarse, pq) = QuantizerFile.Read(legacy, manifest);
        QuantizerFile.Write(_temp.Path, manifest.Metric, coarse, pq, manifest.CodeLayout);
        // The manifest is rewritten as version 2 (new fields, same meaning); the quantizer files are unchanged byte for byte.
        Assert.Equal(Manifest.Describe(manifest), Manifest.Describe(Manifest.Read(_temp.Path)));
        List<string> files = [QuantizerFile.FileName];
        if (manifest.Opq)
        {
            RotationFile.Write(_temp.Path, RotationFile.Read(legacy, manifest.Dimension));
            files.Add(RotationFile.FileName);
        }
        Assert.Equal(name == "legacy-fs", manifest.Opq);
        foreach (string file in files)
            Assert.True(File.ReadAllBytes(Path.Combine(legacy, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(_temp.Path, file))), file);
    }

    [Fact]
    public void A_missing_file_reports_the_callers_problem_and_a_short_one_the_magic()
    {
        string path = Path.Combine(_temp.Path, RotationFile.FileName);
        Assert.Equal("gone.", Assert.Throws<CorruptFileException>(() => RotationFile.Layout.Read(path, "gone.")).Problem);
        File.WriteAllBytes(path, "EVROTATE"u8.ToArray());
        Assert.Contains("magic number or shorter than its 32-byte header", Assert.Throws<CorruptFileException>(() => RotationFile.Layout.Read(path, "gone.")).Problem);
    }
}
