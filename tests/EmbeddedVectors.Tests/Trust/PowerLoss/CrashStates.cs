using System.IO.Hashing;

namespace EmbeddedVectors.Tests.Trust.PowerLoss;

/// <summary>One state a power cut could leave: every name under the root with its file's bytes (null: a directory).</summary>
internal sealed record CrashState(int Cut, string Variant, SortedDictionary<string, byte[]?> Entries)
{
    /// <summary>Writes the state under <paramref name="root"/> (which must be empty).</summary>
    public void Materialise(string root)
    {
        foreach (var (name, bytes) in Entries)
        {
            string path = Path.Combine(root, name.Replace('/', Path.DirectorySeparatorChar));
            if (bytes == null) Directory.CreateDirectory(path);
            else File.WriteAllBytes(path, bytes);
        }
    }

    /// <summary>A hash of names and contents, to check each distinct state once.</summary>
    public ulong Fingerprint()
    {
        var hash = new XxHash64();
        foreach (var (name, bytes) in Entries)
        {
            hash.Append(System.Text.Encoding.UTF8.GetBytes(name));
            hash.Append(bytes == null ? [1] : [0]);
            if (bytes != null) hash.Append(bytes);
            hash.Append(BitConverter.GetBytes(bytes?.Length ?? -1));
        }
        return hash.GetCurrentHashAsUInt64();
    }
}

/// <summary>
/// The crash-state generator: replays a <see cref="RecordingFileSystem"/> log through a model of what is durable
/// (POSIX at its strictest: a file's writes and length changes are durable once the file is fsynced, a name
/// creation, rename or deletion once its directory is synced; a write-through write is followed by its own sync)
/// and, at every flush boundary, yields what a power cut there could leave: only the durable state; the durable
/// state plus every pending change (a process kill); a random subset of the pending writes (each directory's
/// pending name changes applied as a random prefix, since file systems journal them in order); and a random
/// subset of the pending writes in a random order with the last one torn at a 512-byte boundary.
/// </summary>
internal static class CrashStates
{
    private const int Sector = 512;
    private const int Directory = -1;

    /// <summary>The states at every flush boundary (just before each barrier, and at the end of the log).</summary>
    /// <param name="operations">The recorded log.</param>
    /// <param name="seed">Fixes the random variants.</param>
    /// <param name="randomVariants">How many random variants (subset; reordered and torn) to draw at each boundary.</param>
    public static IEnumerable<CrashState> Generate(IReadOnlyList<FileOp> operations, int seed, int randomVariants)
    {
        var random = new Random(seed);
        var durableNames = new Dictionary<string, int>(StringComparer.Ordinal);
        var durableData = new Dictionary<int, FileImage>();
        var pendingNames = new Dictionary<string, List<FileOp>>(StringComparer.Ordinal);
        var pendingData = new Dictionary<int, List<FileOp>>();
        var pendingWrites = new List<FileOp>(); // every pending data change, in recorded order

        for (int i = 0; i <= operations.Count; i++)
        {
            if (i == operations.Count || operations[i].IsBarrier)
            {
                // A boundary: the durable state, with any of the changes since the last barriers.
                yield return Build(i, "durable only", durableNames, durableData, pendingNames, [], random, prefixes: false);
                if (pendingNames.Count > 0 || pendingWrites.Count > 0)
                {
                    yield return Build(i, "everything", durableNames, durableData, pendingNames, pendingWrites, random, prefixes: false, all: true);
                    for (int v = 0; v < randomVariants; v++)
                    {
                        var subset = pendingWrites.Where(_ => random.Next(2) == 0).ToList();
                        yield return Build(i, "random subset", durableNames, durableData, pendingNames, subset, random, prefixes: true);
                        var shuffled = pendingWrites.Where(_ => random.Next(3) != 0).ToList();
                        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(shuffled));
                        yield return Build(i, "reordered, last write torn", durableNames, durableData, pendingNames, shuffled, random, prefixes: true, tearLast: true);
                    }
                }
            }
            if (i == operations.Count) break;

            var op = operations[i];
            switch (op.Kind)
            {
                case FileOpKind.Write:
                case FileOpKind.SetLength:
                    Pending(pendingData, op.Inode).Add(op);
                    pendingWrites.Add(op);
                    break;
                case FileOpKind.Sync:
                    if (pendingData.Remove(op.Inode, out var writes))
                    {
                        var image = durableData.TryGetValue(op.Inode, out var known) ? known : durableData[op.Inode] = new FileImage();
                        foreach (var write in writes) image.Apply(write, write.Data?.Length ?? 0);
                        pendingWrites.RemoveAll(write => write.Inode == op.Inode);
                    }
                    break;
                case FileOpKind.SyncDirectory:
                    if (pendingNames.Remove(op.Path, out var changes))
                        foreach (var change in changes) ApplyName(durableNames, change);
                    break;
                default:
                    Pending(pendingNames, op.Directory).Add(op);
                    break;
            }
        }
    }

    private static List<FileOp> Pending<TKey>(Dictionary<TKey, List<FileOp>> pending, TKey key) where TKey : notnull
        => pending.TryGetValue(key, out var list) ? list : pending[key] = [];

    private static CrashState Build(int cut, string variant, Dictionary<string, int> durableNames, Dictionary<int, FileImage> durableData,
        Dictionary<string, List<FileOp>> pendingNames, List<FileOp> writes, Random random, bool prefixes, bool all = false, bool tearLast = false)
    {
        var names = new Dictionary<string, int>(durableNames, StringComparer.Ordinal);
        if (all || prefixes)
        {
            foreach (var (_, changes) in pendingNames)
            {
                int take = all ? changes.Count : random.Next(changes.Count + 1);
                for (int c = 0; c < take; c++) ApplyName(names, changes[c]);
            }
        }
        var images = new Dictionary<int, FileImage>();
        FileImage ImageOf(int inode) => images.TryGetValue(inode, out var image) ? image
            : images[inode] = durableData.TryGetValue(inode, out var durable) ? durable.Clone() : new FileImage();
        for (int w = 0; w < writes.Count; w++)
        {
            var write = writes[w];
            int length = write.Data?.Length ?? 0;
            if (tearLast && w == writes.Count - 1 && write.Kind == FileOpKind.Write)
            {
                // Torn: only the first whole sectors of the last write reached the disk.
                length = random.Next((length + Sector - 1) / Sector) * Sector; // always short of the whole write
                variant += $" (torn at {length} of {write.Data!.Length} bytes of {write.Path})";
            }
            ImageOf(write.Inode).Apply(write, length);
        }

        var entries = new SortedDictionary<string, byte[]?>(StringComparer.Ordinal);
        foreach (var (name, inode) in names)
        {
            if (!Reachable(names, name)) continue;
            entries[name] = inode == Directory ? null : ImageOf(inode).ToArray();
        }
        return new CrashState(cut, variant, entries);
    }

    /// <summary>A name survives only if every directory above it does.</summary>
    private static bool Reachable(Dictionary<string, int> names, string name)
    {
        for (string parent = FileOp.ParentOf(name); parent.Length > 0; parent = FileOp.ParentOf(parent))
            if (!names.TryGetValue(parent, out int inode) || inode != Directory) return false;
        return true;
    }

    private static void ApplyName(Dictionary<string, int> names, FileOp change)
    {
        switch (change.Kind)
        {
            case FileOpKind.Link: names[change.Path] = change.Inode; break;
            case FileOpKind.MakeDirectory: names[change.Path] = Directory; break;
            case FileOpKind.Rename:
                if (names.Remove(change.Path, out int inode)) names[change.Target] = inode;
                break;
            case FileOpKind.Unlink:
                names.Remove(change.Path);
                foreach (var key in names.Keys.Where(key => key.StartsWith(change.Path + "/", StringComparison.Ordinal)).ToList()) names.Remove(key);
                break;
        }
    }

    /// <summary>A file's bytes in the model.</summary>
    private sealed class FileImage
    {
        private byte[] _bytes = [];
        private long _length;

        public FileImage Clone() => new() { _bytes = _bytes[..(int)_length], _length = _length };

        public byte[] ToArray() => _bytes[..(int)_length];

        /// <summary>Applies a write (its first <paramref name="length"/> bytes) or a length change.</summary>
        public void Apply(FileOp op, int length)
        {
            if (op.Kind == FileOpKind.SetLength)
            {
                Resize(op.Offset);
                if (op.Offset < _length) Array.Clear(_bytes, (int)op.Offset, (int)(_length - op.Offset));
                _length = op.Offset;
                return;
            }
            long end = op.Offset + length;
            if (end > _length) Resize(end);
            op.Data.AsSpan(0, length).CopyTo(_bytes.AsSpan((int)op.Offset));
            _length = Math.Max(_length, end);
        }

        private void Resize(long length)
        {
            if (length <= _bytes.Length) return;
            Array.Resize(ref _bytes, (int)Math.Max(length, Math.Min(2L * _bytes.Length, int.MaxValue - 64)));
        }
    }
}
