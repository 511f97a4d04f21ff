using System.Collections;
using System.Globalization;

namespace EmbeddedVectors.VectorData;

/// <summary>.NET values of data properties (and filter constants) in the store's field types.</summary>
internal static class FieldValueConversion
{
    /// <summary>Sets <paramref name="field"/> to <paramref name="value"/> (null leaves the field null).</summary>
    public static void Set(FieldValues values, FieldDefinition field, object? value)
    {
        if (value == null) return;
        if (field.Type == FieldType.Tags)
        {
            values.Set(field.Name, Tags(value, field.Name));
            return;
        }
        switch (ToFieldValue(field, value))
        {
            case long l: values.Set(field.Name, l); break;
            case double d: values.Set(field.Name, d); break;
            case string s: values.Set(field.Name, s); break;
            case bool b: values.Set(field.Name, b); break;
            case DateTimeOffset t: values.Set(field.Name, t); break;
        }
    }

    /// <summary>The store form of a scalar value for <paramref name="field"/> (long, double, string, bool or DateTimeOffset).</summary>
    public static object ToFieldValue(FieldDefinition field, object value) => (field.Type, value) switch
    {
        (FieldType.Long, long or int or short or sbyte or byte or ushort or uint) => Convert.ToInt64(value, CultureInfo.InvariantCulture),
        (FieldType.Double, double or float or decimal or long or int or short or byte) => Convert.ToDouble(value, CultureInfo.InvariantCulture),
        (FieldType.String or FieldType.Tags, string s) => s,
        (FieldType.String, Guid g) => g.ToString("D"),
        (FieldType.Bool, bool b) => b,
        (FieldType.Date, DateTimeOffset t) => t,
        (FieldType.Date, DateTime t) => ToDateTimeOffset(t),
        _ => throw new ArgumentException($"The value {value} ({value.GetType().Name}) does not fit field '{field.Name}' ({field.TypeName})."),
    };

    /// <summary>
    /// A DateTime as a point in time: UTC and unspecified kinds are taken as UTC (so the same DateTime always indexes
    /// the same way on any machine), local ones are converted.
    /// </summary>
    private static DateTimeOffset ToDateTimeOffset(DateTime time)
        => time.Kind == DateTimeKind.Local ? new DateTimeOffset(time) : new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc));

    private static string[] Tags(object value, string field)
    {
        if (value is string[] array) return Array.IndexOf(array, null) < 0 ? array : throw NullTag(field);
        if (value is not IEnumerable items) throw new ArgumentException($"Field '{field}' holds tags; {value.GetType().Name} is not a collection of strings.");
        var tags = new List<string>();
        foreach (var item in items) tags.Add(item as string ?? throw NullTag(field));
        return [.. tags];
    }

    private static ArgumentException NullTag(string field) => new($"Tags field '{field}' holds a null (or non-string) item; tags must be non-null strings.");
}
