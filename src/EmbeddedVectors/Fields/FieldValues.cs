namespace EmbeddedVectors;

/// <summary>
/// The metadata field values of one entry, by field name, given with <see cref="EmbeddedVectorStore.Add(long, ReadOnlySpan{float}, ReadOnlySpan{byte}, FieldValues?)"/>.
/// A field not set (or set to null) is null. Values are checked against the store's declared fields when added.
/// </summary>
/// <example><code>new FieldValues().Set("year", 2021).Set("lang", "en").Set("tags", ["a", "b"])</code></example>
public sealed class FieldValues
{
    private readonly Dictionary<string, object?> _values = new(StringComparer.Ordinal);

    /// <summary>Sets a long field.</summary>
    public FieldValues Set(string name, long? value) => Put(name, value);
    /// <summary>Sets a double field.</summary>
    public FieldValues Set(string name, double? value) => Put(name, value);
    /// <summary>Sets a string field.</summary>
    public FieldValues Set(string name, string? value) => Put(name, value);
    /// <summary>Sets a bool field.</summary>
    public FieldValues Set(string name, bool? value) => Put(name, value);
    /// <summary>Sets a date field.</summary>
    public FieldValues Set(string name, DateTimeOffset? value) => Put(name, value);
    /// <summary>Sets a tags field (a list of strings; null items are not allowed).</summary>
    public FieldValues Set(string name, IEnumerable<string>? value) => Put(name, value?.ToArray());

    /// <summary>The names set so far.</summary>
    public IEnumerable<string> Names => _values.Keys;

    /// <summary>The value set for <paramref name="name"/> (long, double, string, bool, DateTimeOffset or string[]), or null.</summary>
    public object? this[string name] => _values.GetValueOrDefault(name);

    private FieldValues Put(string name, object? value)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        _values[name] = value;
        return this;
    }

    /// <summary>The values in schema order as stored (see <see cref="FieldRow"/>); throws when a name or type does not fit the schema.</summary>
    internal object?[] ToRow(IReadOnlyList<FieldDefinition> schema)
    {
        var row = new object?[schema.Count];
        foreach (var (name, value) in _values)
        {
            int index = FieldTypes.IndexOf(schema, name);
            if (index < 0) throw new ArgumentException($"'{name}' is not a declared field of this store.", nameof(name));
            row[index] = FieldRow.Normalize(schema[index], value);
        }
        return row;
    }
}

/// <summary>
/// One entry's field values in memory, in schema order: long (long, date as UTC ticks, bool as 0/1), double,
/// string or string[] (tags), or null. Encoded the same way in the log's Fields record.
/// </summary>
internal static class FieldRow
{
    /// <summary>The stored form of <paramref name="value"/> for <paramref name="field"/>.</summary>
    public static object? Normalize(FieldDefinition field, object? value)
    {
        if (value == null) return null;
        return (field.Type, value) switch
        {
            (FieldType.Long, long v) => v,
            (FieldType.Long, int v) => (long)v,
            (FieldType.Double, double v) when double.IsFinite(v) => v,
            (FieldType.Double, long v) => (double)v,
            (FieldType.Double, int v) => (double)v,
            (FieldType.String, string v) => v,
            (FieldType.Bool, bool v) => v ? 1L : 0L,
            (FieldType.Date, DateTimeOffset v) => v.UtcTicks,
            (FieldType.Tags, string[] v) when Array.IndexOf(v, null) < 0 => v,
            _ => throw new ArgumentException($"field '{field.Name}' is {field.TypeName}; the value {value} ({value.GetType().Name}) does not fit it."),
        };
    }

    /// <summary>Encodes a row: count uint16, then per non-null value ordinal uint16 and the value (see docs/format/fields.md).</summary>
    public static byte[] Encode(IReadOnlyList<FieldDefinition> schema, object?[] row)
    {
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        int present = 0;
        foreach (var value in row) if (value != null) present++;
        writer.Write((ushort)present);
        for (int f = 0; f < row.Length; f++)
        {
            if (row[f] == null) continue;
            writer.Write((ushort)f);
            WriteValue(writer, schema[f].Type, row[f]!);
        }
        writer.Flush();
        return stream.ToArray();
    }

    /// <summary>Decodes what <see cref="Encode"/> wrote; null on any inconsistency.</summary>
    public static object?[]? Decode(IReadOnlyList<FieldDefinition> schema, ReadOnlySpan<byte> bytes)
    {
        try
        {
            using var stream = new MemoryStream(bytes.ToArray(), writable: false);
            using var reader = new BinaryReader(stream);
            var row = new object?[schema.Count];
            int present = reader.ReadUInt16();
            for (int i = 0; i < present; i++)
            {
                int f = reader.ReadUInt16();
                if (f >= schema.Count) return null;
                row[f] = ReadValue(reader, schema[f].Type);
            }
            return stream.Position == stream.Length ? row : null;
        }
        catch (Exception e) when (e is EndOfStreamException or ArgumentException or IOException or FormatException)
        {
            return null;
        }
    }

    public static void WriteValue(BinaryWriter writer, FieldType type, object value)
    {
        switch (type)
        {
            case FieldType.Double: writer.Write((double)value); break;
            case FieldType.String: writer.Write((string)value); break;
            case FieldType.Tags:
                var tags = (string[])value;
                writer.Write(tags.Length);
                foreach (var tag in tags) writer.Write(tag);
                break;
            default: writer.Write((long)value); break;
        }
    }

    public static object ReadValue(BinaryReader reader, FieldType type)
    {
        switch (type)
        {
            case FieldType.Double: return reader.ReadDouble();
            case FieldType.String: return reader.ReadString();
            case FieldType.Tags:
                int n = reader.ReadInt32();
                if (n < 0 || n > reader.BaseStream.Length) throw new FormatException("bad tag count");
                var tags = new string[n];
                for (int i = 0; i < n; i++) tags[i] = reader.ReadString();
                return tags;
            default: return reader.ReadInt64();
        }
    }
}
