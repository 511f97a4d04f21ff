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
