using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData.ProviderServices;

namespace EmbeddedVectors.VectorData;

/// <summary>
/// Turns records into store entries and back. The payload is one JSON object: <c>k</c> the key (Guid and string keys),
/// <c>n</c> the vector's length (cosine collections, whose store keeps unit vectors), and <c>d</c> the data properties
/// (and the embedding input of a generated vector) by storage name, serialised with System.Text.Json. Indexed data
/// properties are also written as store fields, which filters read.
/// </summary>
internal sealed class RecordCodec(CollectionSchema schema, JsonSerializerOptions json)
{
    private const string KeyName = "k";
    private const string NormName = "n";
    private const string DataName = "d";

    private readonly CollectionModel _model = schema.Model;

    /// <summary>The properties kept under "d" (data properties, and the embedding input), with their UTF-8 storage names.</summary>
    private readonly (PropertyModel Property, byte[] Name)[] _stored = [.. schema.Model.DataProperties.Cast<PropertyModel>()
        .Concat(schema.GeneratesEmbeddings ? [schema.Vector] : [])
        .Select(p => (p, System.Text.Encoding.UTF8.GetBytes(p.StorageName)))];

    /// <summary>Primitive values are read and written directly (no serializer dispatch) only when the options are the defaults.</summary>
    private readonly bool _directPrimitives = ReferenceEquals(json, JsonSerializerOptions.Default);

    /// <summary>The vector of <paramref name="record"/> (from its property, or <paramref name="generated"/> when embeddings are generated).</summary>
    public ReadOnlyMemory<float> VectorOf(object record, Embedding? generated)
    {
        if (generated != null)
            return generated is Embedding<float> floats ? floats.Vector
                : throw new InvalidOperationException($"The embedding generator of property '{schema.Vector.ModelName}' returned {generated.GetType().Name}; EmbeddedVectors stores Embedding<float>.");
        return schema.Vector.GetValueAsObject(record) switch
        {
            float[] array => array,
            ReadOnlyMemory<float> memory => memory,
            Embedding<float> embedding => embedding.Vector,
            null => throw new ArgumentException($"Vector property '{schema.Vector.ModelName}' of a record is null; every record needs a vector."),
            var other => throw new ArgumentException($"Vector property '{schema.Vector.ModelName}' holds {other.GetType().Name}; expected {ModelBuilder.SupportedVectorTypes}."),
        };
    }

    /// <summary>The payload: key, norm (cosine), data properties.</summary>
    public byte[] Payload(object record, object key, ReadOnlySpan<float> vector)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (schema.KeyIsHashed) writer.WriteString(KeyName, KeyIds.KeyText(key));
            if (schema.Metric == Metric.Cosine) writer.WriteNumber(NormName, Norm(vector));
            writer.WriteStartObject(DataName);
            foreach (var (property, name) in _stored) WriteValue(writer, property, name, record);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private void WriteValue(Utf8JsonWriter writer, PropertyModel property, byte[] name, object record)
    {
        var value = property.GetValueAsObject(record);
        writer.WritePropertyName(name);
        if (_directPrimitives)
        {
            // What the serializer writes for these, without its per-call dispatch.
            switch (value)
            {
                case null: writer.WriteNullValue(); return;
                case string text: writer.WriteStringValue(text); return;
                case int number: writer.WriteNumberValue(number); return;
                case long number: writer.WriteNumberValue(number); return;
                case double number when double.IsFinite(number): writer.WriteNumberValue(number); return;
                case bool flag: writer.WriteBooleanValue(flag); return;
            }
        }
        // The runtime type, so a dynamic record's value serialises as what it is.
        JsonSerializer.Serialize(writer, value, value?.GetType() ?? property.Type, json);
    }

    /// <summary>The store fields of <paramref name="record"/>: the key (hashed keys) and every indexed data property.</summary>
    public FieldValues? Fields(object record, object key)
    {
        if (schema.Fields.Count == 0) return null;
        var values = new FieldValues();
        if (schema.KeyIsHashed) values.Set(CollectionSchema.KeyFieldName, KeyIds.KeyText(key));
        foreach (var property in _model.DataProperties)
        {
            var field = schema.FieldOf(property);
            if (field != null) FieldValueConversion.Set(values, field, property.GetValueAsObject(record));
        }
        return values;
    }

    /// <summary>The record stored as <paramref name="entry"/>.</summary>
    public TRecord Decode<TRecord>(StoredEntry entry, bool includeVectors)
    {
        var record = _model.CreateRecord<TRecord>()!;
        string? keyText = null;
        float length = 1;
        // One forward pass over the payload (no document): this runs for every hit of every search.
        var reader = new Utf8JsonReader(entry.Payload);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals(KeyName)) { reader.Read(); keyText = reader.GetString(); }
            else if (reader.ValueTextEquals(NormName)) { reader.Read(); length = reader.GetSingle(); }
            else if (reader.ValueTextEquals(DataName)) { reader.Read(); ReadData(ref reader, record); }
            else { reader.Read(); reader.Skip(); }
        }
        object key = schema.KeyIsHashed
            ? KeyIds.ParseKey(schema.Key.Type, keyText ?? throw new InvalidDataException($"Entry {entry.Id} of collection '{schema.CollectionName}' has no key in its payload."))
            : schema.Key.Type == typeof(int) ? (object)checked((int)entry.Id) : entry.Id;
        schema.Key.SetValueAsObject(record, key);
        if (includeVectors && !schema.GeneratesEmbeddings)
        {
            var vector = entry.Vector;
            // The store keeps unit vectors under cosine; the length restores the vector as written (to float rounding).
            if (schema.Metric == Metric.Cosine)
                for (int i = 0; i < vector.Length; i++) vector[i] *= length;
            schema.Vector.SetValueAsObject(record, AsPropertyType(vector));
        }
        return record;
    }

    private void ReadData(ref Utf8JsonReader reader, object record)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            PropertyModel? property = null;
            foreach (var (candidate, name) in _stored)
            {
                if (!reader.ValueTextEquals(name)) continue;
                property = candidate;
                break;
            }
            reader.Read();
            if (property == null) reader.Skip(); // a property the record type no longer has
            else property.SetValueAsObject(record, ReadValue(ref reader, property.Type));
        }
    }

    private object? ReadValue(ref Utf8JsonReader reader, Type type)
    {
        if (_directPrimitives)
        {
            var plain = Nullable.GetUnderlyingType(type) ?? type;
            if (reader.TokenType == JsonTokenType.Null && (plain != type || !type.IsValueType)) return null;
            if (plain == typeof(string) && reader.TokenType == JsonTokenType.String) return reader.GetString();
            if (plain == typeof(int) && reader.TokenType == JsonTokenType.Number) return reader.GetInt32();
            if (plain == typeof(long) && reader.TokenType == JsonTokenType.Number) return reader.GetInt64();
            if (plain == typeof(double) && reader.TokenType == JsonTokenType.Number) return reader.GetDouble();
            if (plain == typeof(bool) && reader.TokenType is JsonTokenType.True or JsonTokenType.False) return reader.GetBoolean();
        }
        return JsonSerializer.Deserialize(ref reader, type, json);
    }

    private object AsPropertyType(float[] vector)
    {
        var type = schema.Vector.Type;
        if (type == typeof(float[])) return vector;
        if (type == typeof(Embedding<float>)) return new Embedding<float>(vector);
        return new ReadOnlyMemory<float>(vector);
    }

    private static float Norm(ReadOnlySpan<float> vector)
    {
        double sum = 0;
        foreach (float x in vector) sum += (double)x * x;
        return (float)Math.Sqrt(sum);
    }
}
