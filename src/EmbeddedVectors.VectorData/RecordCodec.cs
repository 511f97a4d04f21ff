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
            foreach (var property in _model.DataProperties) WriteValue(writer, property, record);
            if (schema.GeneratesEmbeddings) WriteValue(writer, schema.Vector, record);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private void WriteValue(Utf8JsonWriter writer, PropertyModel property, object record)
    {
        var value = property.GetValueAsObject(record);
        writer.WritePropertyName(property.StorageName);
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
        using var document = JsonDocument.Parse(entry.Payload);
        var root = document.RootElement;
        object key = schema.KeyIsHashed
            ? KeyIds.ParseKey(schema.Key.Type, root.GetProperty(KeyName).GetString()!)
            : schema.Key.Type == typeof(int) ? (object)checked((int)entry.Id) : entry.Id;
        schema.Key.SetValueAsObject(record, key);
        if (root.TryGetProperty(DataName, out var data))
        {
            foreach (var property in _model.DataProperties) ReadValue(data, property, record);
            if (schema.GeneratesEmbeddings) ReadValue(data, schema.Vector, record);
        }
        if (includeVectors && !schema.GeneratesEmbeddings)
        {
            var vector = entry.Vector;
            if (schema.Metric == Metric.Cosine && root.TryGetProperty(NormName, out var norm))
            {
                // The store keeps unit vectors under cosine; the length restores the vector as written (to float rounding).
                float length = norm.GetSingle();
                for (int i = 0; i < vector.Length; i++) vector[i] *= length;
            }
            schema.Vector.SetValueAsObject(record, AsPropertyType(vector));
        }
        return record;
    }

    private void ReadValue(JsonElement data, PropertyModel property, object record)
    {
        if (!data.TryGetProperty(property.StorageName, out var element)) return;
        property.SetValueAsObject(record, element.Deserialize(property.Type, json));
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
