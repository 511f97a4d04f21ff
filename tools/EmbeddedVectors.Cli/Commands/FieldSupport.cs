using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace EmbeddedVectors.Cli.Commands;

/// <summary>
/// Metadata fields on the command line: <c>--field NAME:TYPE</c> specs, field values taken from a payload's JSON,
/// and <c>--where</c> filters with errors that point at the problem.
/// </summary>
internal static class FieldSupport
{
    public const string TypeList = "string, long, double, bool, date or tags";

    /// <summary>A repeatable <c>NAME:TYPE</c> option (<c>ev create --field</c>, <c>ev fields --add</c>).</summary>
    public static Option<string[]> SpecOption(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "NAME:TYPE",
        Arity = ArgumentArity.ZeroOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>Parses <c>NAME:TYPE</c>; anything else is a user error naming the spec.</summary>
    public static FieldDefinition ParseSpec(string spec)
    {
        int colon = spec.LastIndexOf(':');
        if (colon <= 0 || colon == spec.Length - 1)
            throw new UserErrorException($"--field '{spec}': expected NAME:TYPE, with TYPE {TypeList} (e.g. --field year:long).");
        string name = spec[..colon].Trim();
        string typeName = spec[(colon + 1)..].Trim();
        if (!FieldTypes.TryParse(typeName, out var type))
            throw new UserErrorException($"--field '{spec}': unknown type '{typeName}'; use {TypeList}.");
        return new FieldDefinition(name, type);
    }

    /// <summary>"year (long), lang (string)", or "none".</summary>
    public static string Describe(IReadOnlyList<FieldDefinition> fields)
        => fields.Count == 0 ? "none" : string.Join(", ", fields.Select(f => $"{f.Name} ({f.TypeName})"));

    /// <summary>
    /// The declared fields' values in one payload: each from the top-level key of the same name (a missing key or
    /// JSON null is null; a payload that is not an object has no fields). Null when no field has a value.
    /// </summary>
    /// <exception cref="UserErrorException">A value does not fit its field's type; the message starts "field 'x' is long; …".</exception>
    public static FieldValues? FromJson(JsonElement payload, IReadOnlyList<FieldDefinition> fields)
    {
        if (fields.Count == 0 || payload.ValueKind != JsonValueKind.Object) return null;
        FieldValues? values = null;
        foreach (var field in fields)
        {
            if (!payload.TryGetProperty(field.Name, out var value) || value.ValueKind == JsonValueKind.Null) continue;
            values ??= new FieldValues();
            switch (field.Type)
            {
                case FieldType.String when value.ValueKind == JsonValueKind.String:
                    values.Set(field.Name, value.GetString());
                    break;
                case FieldType.Long when value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long whole):
                    values.Set(field.Name, whole);
                    break;
                case FieldType.Double when value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out double number) && double.IsFinite(number):
                    values.Set(field.Name, number);
                    break;
                case FieldType.Bool when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    values.Set(field.Name, value.GetBoolean());
                    break;
                case FieldType.Date when value.ValueKind == JsonValueKind.String && TryParseDate(value.GetString()!, out var date):
                    values.Set(field.Name, date);
                    break;
                case FieldType.Tags when value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String):
                    values.Set(field.Name, value.EnumerateArray().Select(t => t.GetString()!).ToArray());
                    break;
                default:
                    throw new UserErrorException($"field '{field.Name}' is {field.TypeName}; the value {Preview(value)} is not {Expected(field.Type)}.");
            }
        }
        return values;
    }

    /// <summary>An ISO 8601 date or date and time (<c>2024-05-01</c>, <c>2024-05-01T12:00:00Z</c>); UTC when no offset is given, as in filters.</summary>
    private static bool TryParseDate(string text, out DateTimeOffset date)
    {
        date = default;
        bool iso = text.Length >= 10 && char.IsAsciiDigit(text[0]) && char.IsAsciiDigit(text[3]) && text[4] == '-' && text[7] == '-';
        return iso && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out date);
    }

    private static string Expected(FieldType type) => type switch
    {
        FieldType.String => "a JSON string",
        FieldType.Long => "a whole number (64-bit)",
        FieldType.Double => "a finite JSON number",
        FieldType.Bool => "true or false",
        FieldType.Date => "an ISO 8601 date string (e.g. \"2024-05-01\" or \"2024-05-01T12:00:00Z\")",
        _ => "a JSON array of strings",
    };

    private static string Preview(JsonElement value)
    {
        string text = value.GetRawText().ReplaceLineEndings(" ");
        return text.Length <= 40 ? text : text[..39] + "…";
    }

    /// <summary>
    /// Parses a <c>--where</c> filter and checks it against the store's fields. A syntax error shows the text with a
    /// caret under the position; an unknown field or a value of the wrong type names the field and its declared type.
    /// </summary>
    public static Filter ParseWhere(string text, IReadOnlyList<FieldDefinition> fields)
    {
        Filter filter;
        try
        {
            filter = Filter.Parse(text);
        }
        catch (FilterSyntaxException e)
        {
            // The "ev: …" line, then the filter and a caret under the offending character (tabs and line breaks
            // shown as spaces so the caret lines up).
            int at = Math.Clamp(e.Position, 0, text.Length);
            string shown = string.Concat(text.Select(c => char.IsWhiteSpace(c) ? ' ' : c));
            throw new UserErrorException($"--where: {e.Message}.{Environment.NewLine}    {shown}{Environment.NewLine}    {new string(' ', at)}^");
        }
        try
        {
            filter.Validate(fields);
        }
        catch (ArgumentException e)
        {
            // The library's message names the field and its declared type (or, for an unknown name, every declared field).
            throw new UserErrorException($"--where: {e.Message}");
        }
        return filter;
    }
}
