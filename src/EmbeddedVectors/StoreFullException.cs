using FASTER.core;

namespace EmbeddedVectors;

/// <summary>
/// The disk holding the store is full (or the user's quota is used up): a commit, a seal, a merge, a compaction
/// or a manifest write could not finish. Everything committed before is safe; writes made since the last
/// successful commit may have been dropped (the store reloads its committed state). Free space and retry: the
/// same store instance goes on writing, sealing and compacting.
/// </summary>
public sealed class StoreFullException : EmbeddedVectorsException
{
    /// <summary>Creates the exception for the store in <paramref name="storePath"/>, failing at <paramref name="operation"/>.</summary>
    public StoreFullException(string storePath, string operation, Exception innerException)
        : base($"The disk holding {storePath} is full: the {operation} could not be written. Every committed entry is safe; "
            + "adds and deletes since the last successful commit may have been dropped. Free space and retry.", innerException)
    {
        StorePath = storePath;
    }

    /// <summary>The store's directory.</summary>
    public string StorePath { get; }
}

/// <summary>Tells the failures of writing to disk apart: out of space, or another I/O error.</summary>
internal static class WriteFailures
{
    // ENOSPC and EDQUOT (Linux; .NET puts the errno in HResult on Unix), ERROR_HANDLE_DISK_FULL and ERROR_DISK_FULL (Windows).
    private static readonly int[] OutOfSpaceCodes = [28, 122, unchecked((int)0x80070027), unchecked((int)0x80070070)];

    /// <summary>
    /// FASTER reports a failed page write as a commit failure with no error number; the log's disk is then taken
    /// to be full when less than this is free (a page, 4 MiB, plus room for its commit file).
    /// </summary>
    private const long FullBelowBytes = 8L << 20;

    /// <summary>True for an exception of a failed write to disk (I/O or FASTER's log), which the store recovers from.</summary>
    public static bool IsWriteFailure(Exception e) => e is IOException or FasterException && e is not FileNotFoundException && e is not DirectoryNotFoundException;

    /// <summary>
    /// True when <paramref name="e"/> (or an exception inside it) says the disk under <paramref name="directory"/> is
    /// full: an I/O error with the out-of-space code, .NET's failed preallocation (which carries no code), or any
    /// failed write while less than a page and a commit file's worth of space is left (FASTER reports none).
    /// </summary>
    public static bool IsOutOfSpace(Exception e, string directory)
    {
        for (Exception? inner = e; inner != null; inner = inner.InnerException)
        {
            if (inner is IOException && Array.IndexOf(OutOfSpaceCodes, inner.HResult) >= 0) return true;
            if (inner is IOException && inner.Message.Contains("disk was full", StringComparison.OrdinalIgnoreCase)) return true;
        }
        return IsWriteFailure(e) && FreeBytes(directory) < FullBelowBytes;
    }

    /// <summary>The exception to throw for a failed write: <see cref="StoreFullException"/> when out of space, else a plain one naming the store.</summary>
    public static EmbeddedVectorsException Describe(Exception e, string storePath, string operation)
        => IsOutOfSpace(e, storePath)
            ? new StoreFullException(storePath, operation, e)
            : new EmbeddedVectorsException($"{storePath}: the {operation} could not be written ({e.Message}). Every committed entry is safe; "
                + "adds and deletes since the last successful commit may have been dropped.", e);

    private static long FreeBytes(string directory)
    {
        try { return new DriveInfo(directory).AvailableFreeSpace; }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException) { return long.MaxValue; }
    }
}
