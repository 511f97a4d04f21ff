using EmbeddedVectors.Lists;
using EmbeddedVectors.Search;

namespace EmbeddedVectors.Storage;

/// <summary>
/// A sealed segment as the store's writer holds it: the mapped files, the deletions made so far, and which
/// version of them is on disk. Searches see it through <see cref="SegmentView"/>s, which never change; a deletion
/// after a view was published goes to a copy of the bitmap (copy on write, once per publication), so readers
/// need no lock. The mapping is released when the last snapshot holding the segment lets go of it.
/// </summary>
internal sealed class SealedSegment
{
    private DeletionBitmap _deleted;
    private long _ownedSince = -1;
    private int _references = 1;
    private bool _obsolete;

    private SealedSegment(string directory, Segment segment, DeletionBitmap deleted, long deletionsVersion, SegmentPayloads.Reader? payloads,
        FieldColumns? fields)
    {
        Fields = fields;
        Directory = directory;
        Segment = segment;
        _deleted = deleted;
        DeletionsVersion = deletionsVersion;
        Payloads = payloads;
    }

    public string Directory { get; }
    public Segment Segment { get; }

    /// <summary>Its payload file, or null for a segment whose payload addresses point into the log (written before manifest version 2).</summary>
    public SegmentPayloads.Reader? Payloads { get; }

    /// <summary>Its field values by position, or null when it has no field file (every field null).</summary>
    public FieldColumns? Fields { get; }

    /// <summary>Recent filters' matches over this segment's fields (which never change), shared by every view of it.</summary>
    public SegmentMatchCache Matches { get; } = new();

    /// <summary>The writer's deletions (latest).</summary>
    public DeletionBitmap Deleted => _deleted;

    /// <summary>The version of the deletion file on disk (0: none).</summary>
    public long DeletionsVersion { get; private set; }

    /// <summary>Deletions made since they were last written.</summary>
    public bool Dirty { get; private set; }

    public long LiveCount => Segment.Count - _deleted.DeletedCount;

    public static SealedSegment Open(string directory, SegmentEntry entry, SegmentShape shape, IReadOnlyList<FieldDefinition> fields)
    {
        var segment = Segment.Open(directory, entry.Number, shape);
        SegmentPayloads.Reader? payloads = null;
        try
        {
            if (entry.Payloads) payloads = SegmentPayloads.Reader.Open(directory, entry.Number, entry.Count);
            if (segment.Count != entry.Count)
                throw new CorruptFileException(Path.Combine(directory, SegmentWriter.CodesFileName(entry.Number)),
                    $"holds {segment.Count} entries but the manifest says {entry.Count}.");
            var deleted = entry.DeletionsVersion == 0
                ? new DeletionBitmap(segment.Count)
                : DeletionBitmap.Load(directory, entry.Number, entry.DeletionsVersion, segment.Count);
            var columns = entry.Fields ? FieldsFile.Read(directory, entry.Number, entry.Count, fields) : null;
            return new SealedSegment(directory, segment, deleted, entry.DeletionsVersion, payloads, columns);
        }
        catch
        {
            payloads?.Dispose();
            segment.Dispose();
            throw;
        }
    }

    public SegmentEntry ToEntry() => new(Segment.Number, Segment.Count, DeletionsVersion, Payloads != null, Fields != null);

    /// <summary>
    /// Marks <paramref name="position"/> deleted in the writer's bitmap, first copying it if views published
    /// before <paramref name="publication"/> may hold it. False when it already was deleted.
    /// </summary>
    public bool MarkDeleted(long position, long publication)
    {
        if (_deleted.IsDeleted(position)) return false;
        if (_ownedSince != publication)
        {
            _deleted = _deleted.Clone();
            _ownedSince = publication;
        }
        _deleted.MarkDeleted(position);
        Dirty = true;
        return true;
    }

    /// <summary>Writes the deletions as the next version; returns the version it replaces (0: none).</summary>
    public long WriteDeletions()
    {
        long previous = DeletionsVersion;
        _deleted.Write(Directory, Segment.Number, previous + 1);
        DeletionsVersion = previous + 1;
        Dirty = false;
        return previous;
    }

    /// <summary>A view of the segment with the deletions as they are now, holding a reference to the segment.</summary>
    public SegmentView View()
    {
        Interlocked.Increment(ref _references);
        return new SegmentView(this, _deleted);
    }

    /// <summary>The segment is no longer part of the store: its files go when the last reference does.</summary>
    public void MarkObsolete() => _obsolete = true;

    /// <summary>Drops one reference (the writer's, or a view's); the last unmaps the files, and deletes them when obsolete.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) != 0) return;
        Segment.Dispose();
        Payloads?.Dispose();
        if (!_obsolete) return;
        StoreFiles.TryDelete(Path.Combine(Directory, SegmentWriter.CodesFileName(Segment.Number)));
        StoreFiles.TryDelete(Path.Combine(Directory, SegmentWriter.VectorsFileName(Segment.Number)));
        StoreFiles.TryDelete(Path.Combine(Directory, SegmentPayloads.FileName(Segment.Number)));
        StoreFiles.TryDelete(Path.Combine(Directory, FieldsFile.FileName(Segment.Number)));
        string prefix = Path.GetFileNameWithoutExtension(SegmentWriter.CodesFileName(Segment.Number)) + ".del-*";
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, prefix)) StoreFiles.TryDelete(file);
    }
}

/// <summary>A sealed segment with the deletions of one moment: what a snapshot searches.</summary>
internal sealed class SegmentView(SealedSegment owner, DeletionBitmap deleted) : IInvertedLists, IFieldLists
{
    public SealedSegment Owner => owner;
    public Segment Segment => owner.Segment;
    public DeletionBitmap Deleted => deleted;

    public bool IsMapped => true;

    public bool HasRows => owner.Segment.Shape.HasVectors;

    public RowCodec? Rows => owner.Segment.Rows;

    public CellRun Cell(int cell)
    {
        var segment = owner.Segment;
        int count = segment.ListCount(cell);
        if (count == 0) return default;
        long start = segment.ListStart(cell);
        // This view's bitmap never changes, so a segment without deletions needs no test per candidate.
        var liveness = deleted.DeletedCount == 0 ? Liveness.All : Liveness.Bitmap(deleted, start);
        return new CellRun(segment.Codes(cell), segment.Ids(cell), count, start, liveness);
    }

    public FieldColumns? Columns(int cell, out long start)
    {
        start = owner.Segment.ListStart(cell);
        return owner.Fields;
    }

    public ReadOnlySpan<byte> Row(long position, out long id)
    {
        id = owner.Segment.IdAt(position);
        return owner.Segment.RowAt(position);
    }

    public ReadOnlySpan<byte> RowAt(long position) => owner.Segment.RowAt(position);
}

/// <summary>File housekeeping shared by the store's maintenance paths.</summary>
internal static class StoreFiles
{
    /// <summary>Deletes a file the manifest no longer names; one left behind wastes space but harms nothing.</summary>
    public static void TryDelete(string path)
    {
        try { StoreFileSystem.For(path).Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Deletes a directory the manifest no longer names (old quantizer files), whole; as for files, one left behind harms nothing.</summary>
    public static void TryDeleteDirectory(string path)
    {
        try { StoreFileSystem.For(path).DeleteDirectory(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
