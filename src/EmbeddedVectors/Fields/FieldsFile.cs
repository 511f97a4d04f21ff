using System.Text;
using EmbeddedVectors.Storage;

namespace EmbeddedVectors;

/// <summary>
/// A sealed segment's field values, column by column: <c>seg-NNNNNN.evf</c> (docs/format/fields.md), through
/// <see cref="ChecksummedFile"/>. Read whole into <see cref="FieldColumns"/> when the segment opens.
/// </summary>
internal static class FieldsFile
{
    public const int FormatVersion = 1;
    internal static readonly ChecksummedFile Layout = new("segment field file", "EVFIELDS"u8, FormatVersion, fieldCount: 3, hasHeaderChecksum: true, bodyName: "columns");
    private const int EntryCountField = 0, FieldCountField = 1, BodyLengthField = 2;

    public static string FileName(long segmentNumber) => $"seg-{segmentNumber:D6}.evf";

    /// <summary>Writes the columns of <paramref name="rows"/> (one row an entry, schema order).</summary>
    public static void Write(string directory, long segmentNumber, IReadOnlyList<FieldDefinition> schema, IReadOnlyList<object?[]?> rows)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            for (int f = 0; f < schema.Count; f++)
            {
                writer.Write(schema[f].Name);
                writer.Write((byte)schema[f].Type);
                foreach (var row in rows) writer.Write(row?[f] != null ? (byte)1 : (byte)0);
                foreach (var row in rows)
                    if (row?[f] is { } value) FieldRow.WriteValue(writer, schema[f].Type, value);
            }
        }
        var body = stream.ToArray();
        Layout.Write(Path.Combine(directory, FileName(segmentNumber)), [rows.Count, schema.Count, body.Length], body);
    }

    /// <summary>Reads the field file of a segment of <paramref name="count"/> entries, mapping its columns onto <paramref name="schema"/> by name.</summary>
    /// <exception cref="CorruptFileException">Missing, damaged, or inconsistent with the segment.</exception>
    public static FieldColumns Read(string directory, long segmentNumber, long count, IReadOnlyList<FieldDefinition> schema)
    {
        string path = Path.Combine(directory, FileName(segmentNumber));
        var file = Layout.Read(path, "missing: the manifest says this segment has a field file.");
        if (file.Field(EntryCountField) != count)
            throw new CorruptFileException(path, $"holds {file.Field(EntryCountField)} entries but the segment holds {count}.");
        int fieldCount = file.Field(FieldCountField);
        var body = file.Body(file.Field(BodyLengthField)).ToArray();
        var rows = new object?[count][];
        for (int i = 0; i < count; i++) rows[i] = new object?[schema.Count];
        int columns = 0; // fields are only appended, so the file's columns are the first ones of the schema
        try
        {
            using var reader = new BinaryReader(new MemoryStream(body, writable: false), Encoding.UTF8);
            for (int f = 0; f < fieldCount; f++)
            {
                string name = reader.ReadString();
                var type = (FieldType)reader.ReadByte();
                int target = FieldTypes.IndexOf(schema, name);
                if (!Enum.IsDefined(type) || (target >= 0 && schema[target].Type != type))
                    throw new CorruptFileException(path, $"column '{name}' has type {type}, which does not match the store's fields.");
                var present = reader.ReadBytes((int)count);
                if (present.Length != count) throw new EndOfStreamException();
                for (int i = 0; i < count; i++)
                {
                    if (present[i] == 0) continue;
                    object value = FieldRow.ReadValue(reader, type);
                    if (target >= 0) rows[i][target] = value;
                }
                columns = Math.Max(columns, target + 1);
            }
            if (reader.BaseStream.Position != body.Length) throw new CorruptFileException(path, "trailing bytes after the last column.");
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            throw new CorruptFileException(path, $"columns end early or are malformed ({e.Message}).");
        }
        // Only the columns the file holds: a field added later reads as null without a column of nulls in memory.
        var fieldColumns = new FieldColumns(schema.Take(columns).ToList(), (int)count);
        foreach (var row in rows) fieldColumns.Append(row);
        return fieldColumns;
    }
}
