namespace EmbeddedVectors.Storage;

/// <summary>Crash-safe file replacement: write a temporary file, flush it to disk, rename it over the old one, flush the directory.</summary>
internal static class DurableFile
{
    /// <summary>Replaces <paramref name="path"/> with <paramref name="contents"/> so that after a crash either the old or the new file is there, whole.</summary>
    public static void ReplaceAtomically(string path, ReadOnlySpan<byte> contents)
    {
        string temporary = path + ".tmp";
        var fileSystem = StoreFileSystem.For(path);
        using (var file = fileSystem.Create(temporary))
        {
            file.Write(contents, 0);
            file.Sync();
        }
        fileSystem.Move(temporary, path);
        fileSystem.SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }
}
