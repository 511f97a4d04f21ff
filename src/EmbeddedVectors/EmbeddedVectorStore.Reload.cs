using EmbeddedVectors.Lists;
using EmbeddedVectors.Storage;
using EmbeddedVectors.Training;

namespace EmbeddedVectors;

// Loading the committed state from disk: at open, when a read-only store refreshes to see another process's
// commits, and when a failed write (a full disk) leaves the writer's memory ahead of its disk. Every load ends in
// PublishLocked, like any other change.
public sealed partial class EmbeddedVectorStore
{
    private const int ReloadAttempts = 20;

    /// <summary>The log address replay has reached: a read-only refresh replays from here when the manifest is unchanged.</summary>
    private long _replayedUntil;

    /// <summary>The file times <see cref="EmbeddedVectorStoreOptions.AutoRefresh"/> last saw (manifest, log commits).</summary>
    private (DateTime Manifest, DateTime Commits) _seen;

    /// <summary>Set when a failed write could not be recovered from: every later write throws it.</summary>
    private Exception? _broken;

    /// <summary>
    /// Read-only stores: loads what the writer (in this process or another) committed since the open or the last
    /// refresh: new log records, and any seal, merge, compaction or retraining. Searches that are running keep the
    /// state they began with. Does nothing on a writable store.
    /// </summary>
    /// <returns>True when the store changed.</returns>
    /// <exception cref="CorruptFileException">A file of the new state is damaged.</exception>
    public bool Refresh()
    {
        ThrowIfDisposed();
        if (!IsReadOnly) return false;
        lock (_writer)
        {
            ThrowIfDisposed();
            _seen = FileTimes();
            return CatchUpLocked();
        }
    }

    /// <summary>
    /// Read-only stores: loads the newest committed state (a newer manifest, or new log records), and again until
    /// the manifest it loaded is still the newest afterwards. A writer may seal between the manifest read and the
    /// log read, and then truncate the log past what the manifest read says is sealed: the entries of that seal are
    /// then in neither, and a state loaded that way would miss them.
    /// </summary>
    private bool CatchUpLocked()
    {
        bool changed = false;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                var manifest = Manifest.Read(StorePath);
                if (manifest.Generation != _manifest.Generation)
                {
                    ReloadLocked(manifest);
                    changed = true;
                }
                else
                {
                    _log.Refresh();
                    if (_log.CommittedUntilAddress > _replayedUntil)
                    {
                        ReplayAndPublishLocked(_replayedUntil);
                        changed = true;
                    }
                }
                if (Manifest.Read(StorePath).Generation == _manifest.Generation) return changed;
                if (attempt >= ReloadAttempts)
                    throw new IOException($"The store at {StorePath} changed {ReloadAttempts} times while this reader loaded it; try again.");
            }
            // The writer may delete a segment the manifest just read still lists (a merge or compaction ending), or
            // log records may declare fields of a manifest newer than the one read.
            catch (Exception e) when (attempt < ReloadAttempts && IsTransientForReader(e) && ManifestMovedOn(_manifest.Generation))
            {
            }
        }
    }

    /// <summary>AutoRefresh: refreshes when the manifest or the log's commit files changed since the last look.</summary>
    private void RefreshIfChanged()
    {
        if (!_options.AutoRefresh || !IsReadOnly || FileTimes() == _seen) return;
        Refresh();
    }

    private (DateTime, DateTime) FileTimes()
        => (File.GetLastWriteTimeUtc(Path.Combine(StorePath, Manifest.FileName)),
            Directory.GetLastWriteTimeUtc(Path.Combine(StorePath, LogDirectoryName, "log-commits")));

    /// <summary>The quantizers (and int8 row parameters) <paramref name="manifest"/> names; nulls when untrained.</summary>
    /// <summary>
    /// The quantizers <paramref name="manifest"/> names, with the coarse graph attached (built when the store has none
    /// and nlist reaches the option's threshold, and then persisted by a writable open, which updates the manifest).
    /// </summary>
    private (IvfPqQuantizer? Quantizer, RowCodec? Rows) ReadQuantizers(ref Manifest manifest)
    {
        if (!manifest.Trained) return (null, null);
        string quantizers = manifest.QuantizerPath(StorePath);
        var (coarse, pq) = QuantizerFile.Read(quantizers, manifest);
        manifest = CoarseGraphFile.AttachAtOpen(StorePath, manifest, coarse, _options.CoarseGraphMinNList, _options.ReadOnly);
        var rotation = manifest.Opq ? RotationFile.Read(quantizers, manifest.Dimension) : null;
        var rows = manifest.Shape.Rows == RowEncoding.Int8 ? RowParametersFile.Read(StorePath, manifest.Dimension) : null;
        return (new IvfPqQuantizer(coarse, pq, MaxPrecomputedTableBytes, rotation), rows);
    }

    /// <summary>Opens every segment of <paramref name="manifest"/> into <paramref name="segments"/> (which the caller releases on failure).</summary>
    private void OpenSegments(Manifest manifest, List<SealedSegment> segments)
    {
        foreach (var entry in manifest.Segments) segments.Add(SealedSegment.Open(StorePath, entry, manifest.Shape, manifest.Fields));
    }

    private IPayloadLog OpenLog()
    {
        string directory = Path.Combine(StorePath, LogDirectoryName);
        return _options.PayloadLogFactory != null
            ? _options.PayloadLogFactory(directory, _options.ReadOnly)
            : FasterPayloadLog.Open(directory, _options.ReadOnly, _manifest.EffectiveLogSegmentBits);
    }

    /// <summary>Replays the committed log from <paramref name="from"/> into the write buffer, then publishes once.</summary>
    private void ReplayAndPublishLocked(long from)
    {
        _log.Refresh();
        long end = _log.CommittedUntilAddress; // a read may refresh the view meanwhile: stop where this replay began
        _replaying = true;
        try
        {
            _log.Replay(from, (in LogRecordView record) =>
            {
                if (record.Address < end) ReplayRecord(record);
            });
            ApplyPendingUpsert(null);
        }
        finally { _replaying = false; }
        _replayedUntil = end;
        _state.EnterWriteLock();
        try { PublishLocked(); }
        finally { _state.ExitWriteLock(); }
    }

    /// <summary>Replaces the whole state with the committed one <paramref name="manifest"/> and the log describe; the writer lock is held.</summary>
    private void ReloadLocked(Manifest manifest)
    {
        var segments = new List<SealedSegment>();
        IvfPqQuantizer? quantizer = _quantizer;
        RowCodec? rows = _rowCodec;
        try
        {
            if (manifest.Trained != _manifest.Trained || manifest.QuantizerDirectory != _manifest.QuantizerDirectory)
                (quantizer, rows) = ReadQuantizers(ref manifest);
            OpenSegments(manifest, segments);
        }
        catch
        {
            foreach (var segment in segments) segment.Release();
            throw;
        }
        var old = _segments;
        _state.EnterWriteLock();
        try
        {
            // A running merge reserved a segment number in memory only: never hand it out again.
            _manifest = manifest with { NextSegmentNumber = Math.Max(manifest.NextSegmentNumber, _manifest.NextSegmentNumber) };
            _quantizer = quantizer;
            _rowCodec = rows;
            _segments = segments;
            _buffer = NewBuffer(quantizer, _manifest);
            _bufferIds = [];
            _pendingUpsert = null;
        }
        finally { _state.ExitWriteLock(); }
        _replayedUntil = manifest.SealedUntilAddress; // the new state starts here, whatever happens below
        try
        {
            ReplayAndPublishLocked(manifest.SealedUntilAddress);
        }
        catch
        {
            // Half loaded (searches still see the last published snapshot): the next catch-up must load the whole
            // state again rather than replay on top of this one.
            _manifest = _manifest with { Generation = -1 };
            throw;
        }
        finally
        {
            foreach (var segment in old) segment.Release(); // unmapped when the last search holding them ends
        }
    }

    /// <summary>
    /// After a write failed (a full disk, say): makes the state in memory the committed state on disk again, so the
    /// store can go on once space is freed, and returns the exception to throw. The writer lock is held.
    /// </summary>
    private EmbeddedVectorsException RecoverFromWriteFailureLocked(Exception failure, string operation)
    {
        var error = WriteFailures.Describe(failure, StorePath, operation);
        try
        {
            try
            {
                _log.Commit(); // a healthy log: what was appended becomes durable, so the reload keeps it
            }
            catch (Exception e) when (WriteFailures.IsWriteFailure(e))
            {
                // FASTER's log never commits again after a failed page write: reopen it at its last commit.
                _log.Dispose();
                _log = OpenLog();
            }
            ReloadLocked(Manifest.Read(StorePath));
        }
        catch (Exception e)
        {
            _broken = error;
            return new EmbeddedVectorsException($"{error.Message} The store could not reload its committed state ({e.Message}): dispose it and open it again.", failure);
        }
        return error;
    }

    /// <summary>
    /// Runs <paramref name="commit"/> (then records the log's committed end as the sealed-until address) and writes
    /// <paramref name="manifest"/>; if either fails, deletes <paramref name="written"/>, the segment the manifest was
    /// to name, so a retry can write it again.
    /// </summary>
    private void WriteManifestOrDiscard(Action? commit, ref Manifest manifest, SealedSegment? written)
    {
        try
        {
            if (commit != null)
            {
                commit();
                manifest = manifest with { SealedUntilAddress = _log.CommittedUntilAddress };
            }
            manifest.Write(StorePath);
        }
        catch
        {
            Discard(written);
            throw;
        }
    }
}
