namespace EmbeddedVectors;

/// <summary>What <see cref="EmbeddedVectorStore.Repair"/> found and did.</summary>
public sealed record StoreRepairReport
{
    /// <summary>The damage found (one line per damaged file or region); empty when every segment was sound and nothing was changed.</summary>
    public required IReadOnlyList<string> Problems { get; init; }

    /// <summary>Numbers of the segments taken out of the store (their files are moved to <see cref="SetAsideDirectory"/>).</summary>
    public required IReadOnlyList<long> RemovedSegments { get; init; }

    /// <summary>Entries of removed segments added back from the write-ahead log (its latest record of the id).</summary>
    public long RecoveredFromLog { get; init; }

    /// <summary>Entries of removed segments added back from the segment's own intact parts (rows, payload file, fields file).</summary>
    public long RecoveredFromSegments { get; init; }

    /// <summary>Ids that were live in a removed segment and could be recovered from nowhere: the store no longer has them.</summary>
    public required IReadOnlyList<long> LostIds { get; init; }

    /// <summary>
    /// Entries of removed segments whose ids could not be read (a missing or damaged codes file) and that the log
    /// did not give back: at most this many entries are lost (the count includes entries deleted before the damage).
    /// </summary>
    public long UnidentifiedLost { get; init; }

    /// <summary>Where the removed segments' files were moved (<c>damaged-N</c> in the store), or null when none were.</summary>
    public string? SetAsideDirectory { get; init; }

    /// <summary>True when nothing committed was lost: no damage, or every affected entry was recovered.</summary>
    public bool NothingLost => LostIds.Count == 0 && UnidentifiedLost == 0;
}
