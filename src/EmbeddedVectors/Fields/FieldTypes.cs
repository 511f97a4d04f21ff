namespace EmbeddedVectors;

/// <summary>The type of a metadata field declared in <see cref="EmbeddedVectorStoreOptions.Fields"/>.</summary>
public enum FieldType
{
    /// <summary>UTF-8 text, compared ordinally.</summary>
    String = 1,
    /// <summary>64-bit integer.</summary>
    Long = 2,
    /// <summary>64-bit floating point.</summary>
    Double = 3,
    /// <summary>True or false.</summary>
    Bool = 4,
    /// <summary>A point in time (<see cref="DateTimeOffset"/>), compared and stored as UTC ticks.</summary>
    Date = 5,
    /// <summary>A list of strings, tested with contains / contains-any.</summary>
    Tags = 6,
}

/// <summary>A metadata field an entry may carry: its name (case-sensitive) and type.</summary>
/// <param name="Name">The field's name: letters, digits and underscores, not starting with a digit; not <c>id</c>.</param>
/// <param name="Type">The field's type.</param>
public sealed record FieldDefinition(string Name, FieldType Type)
{
    /// <summary>The type as the CLI and <c>ev info</c> spell it: string, long, double, bool, date or tags.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string TypeName => FieldTypes.Name(Type);

    internal void Validate()
    {
        if (string.IsNullOrEmpty(Name) || char.IsDigit(Name[0]) || Name == "id")
            throw new ArgumentException($"'{Name}' is not a valid field name (letters, digits and '_', not starting with a digit, not 'id').", nameof(Name));
        foreach (char c in Name)
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
                throw new ArgumentException($"'{Name}' is not a valid field name (letters, digits and '_' only).", nameof(Name));
        if (!Enum.IsDefined(Type)) throw new ArgumentException($"field '{Name}' has unknown type {Type}.", nameof(Type));
    }
}

/// <summary>Names of field types and schema checks shared by the store, the filter compiler and the CLI.</summary>
public static class FieldTypes
{
    /// <summary>The lower-case name of <paramref name="type"/>.</summary>
    public static string Name(FieldType type) => type switch
    {
        FieldType.String => "string",
        FieldType.Long => "long",
        FieldType.Double => "double",
        FieldType.Bool => "bool",
        FieldType.Date => "date",
        FieldType.Tags => "tags",
        _ => type.ToString(),
    };

    /// <summary>Parses a type name (string, long, double, bool, date, tags); false when unknown.</summary>
    public static bool TryParse(string name, out FieldType type)
    {
        foreach (var candidate in Enum.GetValues<FieldType>())
        {
            if (string.Equals(Name(candidate), name, StringComparison.OrdinalIgnoreCase))
            {
                type = candidate;
                return true;
            }
        }
        type = default;
        return false;
    }

    /// <summary>Most fields a store may declare: an entry's values name their field by a 16-bit ordinal.</summary>
    public const int MaxFields = ushort.MaxValue;

    internal static void ValidateSchema(IReadOnlyList<FieldDefinition> fields)
    {
        if (fields.Count > MaxFields) throw new ArgumentException($"{fields.Count} fields declared; a store holds at most {MaxFields}.", nameof(fields));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in fields)
        {
            ArgumentNullException.ThrowIfNull(field);
            field.Validate();
            if (!seen.Add(field.Name)) throw new ArgumentException($"field '{field.Name}' is declared twice.", nameof(fields));
        }
    }

    internal static int IndexOf(IReadOnlyList<FieldDefinition> fields, string name)
    {
        for (int i = 0; i < fields.Count; i++)
            if (fields[i].Name == name) return i;
        return -1;
    }
}
