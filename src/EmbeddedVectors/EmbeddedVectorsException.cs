namespace EmbeddedVectors;

/// <summary>
/// The one exception family of EmbeddedVectors. Messages say what is wrong and, where it helps, how to fix it.
/// Argument mistakes are reported with the standard <see cref="ArgumentException"/> family instead.
/// </summary>
public class EmbeddedVectorsException : Exception
{
    /// <summary>Creates the exception with a message.</summary>
    public EmbeddedVectorsException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public EmbeddedVectorsException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>A file is truncated, damaged, of an unsupported layout, or of another format version.</summary>
public class CorruptFileException : EmbeddedVectorsException
{
    /// <summary>Creates the exception for <paramref name="path"/>.</summary>
    public CorruptFileException(string path, string problem)
        : base($"{path}: {problem}")
    {
        FilePath = path;
        Problem = problem;
    }

    /// <summary>The file that could not be read.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong with it, without the path.</summary>
    public string Problem { get; }
}

/// <summary>
/// A file was written by a newer EmbeddedVectors, in a format version this build cannot read. A
/// <see cref="CorruptFileException"/>, so callers that catch that keep working; catch this one to tell "upgrade"
/// apart from "damaged".
/// </summary>
public sealed class NewerFormatVersionException : CorruptFileException
{
    /// <summary>Creates the exception for <paramref name="path"/>, whose format version is <paramref name="fileVersion"/>.</summary>
    public NewerFormatVersionException(string path, long fileVersion, long supportedVersion)
        : base(path, $"written by a newer EmbeddedVectors (format version {fileVersion}); this build reads version {supportedVersion}. Upgrade EmbeddedVectors to open it.")
    {
        FileVersion = fileVersion;
        SupportedVersion = supportedVersion;
    }

    /// <summary>The format version written in the file.</summary>
    public long FileVersion { get; }

    /// <summary>The newest format version of this kind of file that this build reads.</summary>
    public long SupportedVersion { get; }
}
