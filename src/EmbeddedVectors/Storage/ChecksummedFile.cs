using System.Buffers.Binary;

namespace EmbeddedVectors.Storage;

/// <summary>
/// The layout shared by the small files a store writes and reads whole (<c>MANIFEST</c>, <c>quantizer.evq</c>,
/// <c>rotation.evq</c>): a header of magic, format version, the file's own int32 fields, a body checksum and, for
/// some, a header checksum, then the body. One instance describes one kind of file; it writes such files durably
/// and reads them back with every header check made in one place.
/// </summary>
/// <remarks>
/// Layout, little-endian, for a kind with n fields:
/// <list type="table">
/// <item><term>0–7</term><description>magic, 8 ASCII bytes (<see cref="MagicOffset"/>)</description></item>
/// <item><term>8–11</term><description>format version, int32 (<see cref="VersionOffset"/>)</description></item>
/// <item><term>12–(11 + 4n)</term><description>the n fields, int32 each (<see cref="FieldOffset"/>)</description></item>
/// <item><term>next 8</term><description>body checksum, XXH3-64 of every byte from <see cref="HeaderSize"/> to the end (<see cref="BodyChecksumOffset"/>)</description></item>
/// <item><term>next 8, if the kind has it</term><description>header checksum, XXH3-64 of bytes 0 to <see cref="HeaderChecksumOffset"/> − 1</description></item>
/// <item><term><see cref="HeaderSize"/>–</term><description>the body</description></item>
/// </list>
/// A reader checks, in this order: the file exists; it is at least a header long and starts with the magic; the
/// header checksum; the version (<see cref="FileHeaders.CheckVersion"/>); then, once the caller has checked the
/// fields and says how long the body must be, the length and the body checksum.
/// </remarks>
internal sealed class ChecksummedFile
{
    /// <summary>Where the 8-byte magic starts.</summary>
    public const int MagicOffset = 0;

    /// <summary>Bytes of the magic.</summary>
    public const int MagicLength = 8;

    /// <summary>Where the int32 format version starts.</summary>
    public const int VersionOffset = 8;

    /// <summary>Where the first int32 field starts.</summary>
    public const int FieldsOffset = 12;

    private const int FieldSize = sizeof(int);
    private const int ChecksumSize = sizeof(ulong);

    private readonly byte[] _magic;

    /// <summary>Describes a kind of file.</summary>
    /// <param name="kind">What the file is, for messages ("manifest").</param>
    /// <param name="magic">The 8 ASCII bytes it starts with.</param>
    /// <param name="formatVersion">The version this build writes, and the newest it reads.</param>
    /// <param name="fieldCount">int32 fields between the version and the body checksum.</param>
    /// <param name="hasHeaderChecksum">Whether a header checksum follows the body checksum.</param>
    /// <param name="bodyName">What the body holds, for the message when its checksum does not match ("centroids and codebooks").</param>
    public ChecksummedFile(string kind, ReadOnlySpan<byte> magic, int formatVersion, int fieldCount, bool hasHeaderChecksum, string bodyName)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(magic.Length, MagicLength);
        ArgumentOutOfRangeException.ThrowIfLessThan(formatVersion, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(fieldCount);
        Kind = kind;
        _magic = magic.ToArray();
        FormatVersion = formatVersion;
        FieldCount = fieldCount;
        BodyChecksumOffset = FieldOffset(fieldCount);
        HeaderChecksumOffset = hasHeaderChecksum ? BodyChecksumOffset + ChecksumSize : -1;
        HeaderSize = BodyChecksumOffset + ChecksumSize + (hasHeaderChecksum ? ChecksumSize : 0);
        BodyName = bodyName;
    }

    /// <summary>What the file is, for messages.</summary>
    public string Kind { get; }

    /// <summary>What the body holds, for messages.</summary>
    public string BodyName { get; }

    /// <summary>The format version this build writes, and the newest it reads.</summary>
    public int FormatVersion { get; }

    /// <summary>int32 fields between the version and the body checksum.</summary>
    public int FieldCount { get; }

    /// <summary>Where the body checksum starts.</summary>
    public int BodyChecksumOffset { get; }

    /// <summary>Where the header checksum starts (it covers every byte before it), or -1 when the kind has none.</summary>
    public int HeaderChecksumOffset { get; }

    /// <summary>Bytes of the header; the body starts here.</summary>
    public int HeaderSize { get; }

    /// <summary>Where field <paramref name="field"/> (0-based) starts.</summary>
    public static int FieldOffset(int field) => FieldsOffset + FieldSize * field;

    /// <summary>
    /// Writes the file at <paramref name="path"/> with format version <paramref name="version"/> (0: this build's,
    /// <see cref="FormatVersion"/>), <paramref name="fields"/> and a body of <paramref name="body"/> followed by
    /// <paramref name="moreBody"/>, and both checksums, replacing any file there atomically and durably
    /// (<see cref="DurableFile.ReplaceAtomically"/>). A kind writes an older version when the file needs nothing
    /// newer, so older builds keep reading it.
    /// </summary>
    public void Write(string path, ReadOnlySpan<int> fields, ReadOnlySpan<byte> body, ReadOnlySpan<byte> moreBody = default, int version = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(fields.Length, FieldCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(version, FormatVersion);
        var file = new byte[HeaderSize + body.Length + moreBody.Length];
        _magic.CopyTo(file, MagicOffset);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(VersionOffset), version > 0 ? version : FormatVersion);
        for (int i = 0; i < fields.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(FieldOffset(i)), fields[i]);
        body.CopyTo(file.AsSpan(HeaderSize));
        moreBody.CopyTo(file.AsSpan(HeaderSize + body.Length));
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(BodyChecksumOffset), FileHeaders.Checksum(file.AsSpan(HeaderSize)));
        if (HeaderChecksumOffset >= 0)
            BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(HeaderChecksumOffset), FileHeaders.Checksum(file.AsSpan(0, HeaderChecksumOffset)));
        DurableFile.ReplaceAtomically(path, file);
    }

    /// <summary>
    /// Reads the file at <paramref name="path"/> whole and checks its magic, header checksum and version; the
    /// fields are the caller's to check before it asks for the body with <see cref="Contents.Body"/>.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="missingProblem">The problem to report when there is no file.</param>
    /// <exception cref="CorruptFileException">The file is missing, is not of this kind, its header is damaged, or its version is 0 or below.</exception>
    /// <exception cref="NewerFormatVersionException">A newer EmbeddedVectors wrote it.</exception>
    public Contents Read(string path, string missingProblem)
    {
        if (!File.Exists(path)) throw new CorruptFileException(path, missingProblem);
        byte[] file = File.ReadAllBytes(path);
        if (file.Length < HeaderSize || !file.AsSpan(MagicOffset, MagicLength).SequenceEqual(_magic))
            throw new CorruptFileException(path, $"not an EmbeddedVectors {Kind} (wrong magic number or shorter than its {HeaderSize}-byte header).");
        if (HeaderChecksumOffset >= 0 && FileHeaders.Checksum(file.AsSpan(0, HeaderChecksumOffset)) != BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(HeaderChecksumOffset)))
            throw new CorruptFileException(path, "header checksum mismatch: the header is damaged.");
        FileHeaders.CheckVersion(path, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(VersionOffset)), FormatVersion);
        return new Contents(this, path, file);
    }

    /// <summary>A file read by <see cref="Read"/>, whose header has passed its checks.</summary>
    internal sealed class Contents
    {
        private readonly ChecksummedFile _layout;
        private readonly byte[] _file;

        internal Contents(ChecksummedFile layout, string path, byte[] file)
        {
            _layout = layout;
            Path = path;
            _file = file;
        }

        /// <summary>The file, for messages.</summary>
        public string Path { get; }

        /// <summary>The file's format version, checked to be 1 to <see cref="FormatVersion"/>.</summary>
        public int Version => BinaryPrimitives.ReadInt32LittleEndian(_file.AsSpan(VersionOffset));

        /// <summary>Field <paramref name="field"/> (0-based) of the header.</summary>
        public int Field(int field)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)field, (uint)_layout.FieldCount, nameof(field));
            return BinaryPrimitives.ReadInt32LittleEndian(_file.AsSpan(FieldOffset(field)));
        }

        /// <summary>
        /// The body, after checking that it is <paramref name="expectedLength"/> bytes long (what the fields say it
        /// must be) and that its checksum matches.
        /// </summary>
        /// <exception cref="CorruptFileException">The file is truncated or padded, or its body is damaged.</exception>
        public ReadOnlySpan<byte> Body(long expectedLength)
        {
            long expected = _layout.HeaderSize + expectedLength;
            if (_file.Length != expected)
                throw new CorruptFileException(Path, $"truncated or padded: {_file.Length} bytes, expected {expected}.");
            var body = _file.AsSpan(_layout.HeaderSize);
            if (FileHeaders.Checksum(body) != BinaryPrimitives.ReadUInt64LittleEndian(_file.AsSpan(_layout.BodyChecksumOffset)))
                throw new CorruptFileException(Path, $"body checksum mismatch: the {_layout.Kind} is damaged ({_layout.BodyName}).");
            return body;
        }
    }
}
