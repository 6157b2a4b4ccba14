namespace WeightSpace.Reports.Json;

/// <summary>The shapes every hand-written WeightSpace document repeats: an array of objects, one per item (written by a
/// callback, or serialized from result records whose properties are the document's keys), and a value that is <c>null</c>
/// when absent. Writing them through one place keeps the documents' structure the same everywhere.</summary>
public static class JsonWriterExtensions
{
    /// <summary>Writes <c>"<paramref name="propertyName"/>": [ {…}, … ]</c>: one object per item, whose properties
    /// <paramref name="writeProperties"/> writes.</summary>
    /// <param name="writer">The writer, inside an object.</param>
    /// <param name="propertyName">The array's property name.</param>
    /// <param name="items">One object each, in order.</param>
    /// <param name="writeProperties">Writes the properties of one item's object.</param>
    public static void WriteObjectArray<T>(this Utf8JsonWriter writer, string propertyName, IEnumerable<T> items, Action<Utf8JsonWriter, T> writeProperties)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(writeProperties);
        writer.WriteStartArray(propertyName);
        foreach (var item in items)
        {
            writer.WriteStartObject();
            writeProperties(writer, item);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    /// <summary>Writes <c>"<paramref name="propertyName"/>": [ {…}, … ]</c>: each item a result record serialized under
    /// <paramref name="options"/> (default <see cref="JsonPolicy.Serializer"/>): its public properties in declaration order
    /// (<c>[JsonPropertyOrder]</c> moves one), snake_case names, non-finite doubles as the three strings, null as <c>null</c>.</summary>
    /// <param name="writer">The writer, inside an object.</param>
    /// <param name="propertyName">The array's property name.</param>
    /// <param name="records">One object each, in order.</param>
    /// <param name="options">Serializer options derived from <see cref="JsonPolicy.Serializer"/>, for a document that names a property otherwise.</param>
    public static void WriteRecordArray<T>(this Utf8JsonWriter writer, string propertyName, IEnumerable<T> records, JsonSerializerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(records);
        writer.WritePropertyName(propertyName);
        JsonSerializer.Serialize(writer, records, options ?? JsonPolicy.Serializer);
    }

    /// <summary>Writes the properties of <paramref name="record"/>, serialized as <see cref="WriteRecordArray{T}"/> serializes
    /// an item, into the object being written, so that a document can add properties of its own after them.</summary>
    /// <param name="writer">The writer, inside an object.</param>
    /// <param name="record">The record (a <c>with</c> copy where the document rounds a value).</param>
    public static void WriteRecordProperties<T>(this Utf8JsonWriter writer, T record)
    {
        ArgumentNullException.ThrowIfNull(writer);
        using var document = JsonSerializer.SerializeToDocument(record, JsonPolicy.Serializer);
        foreach (var property in document.RootElement.EnumerateObject()) property.WriteTo(writer);
    }

    /// <summary>Writes <c>"<paramref name="propertyName"/>": ["…", …]</c>.</summary>
    public static void WriteStringArray(this Utf8JsonWriter writer, string propertyName, IEnumerable<string> values)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(values);
        writer.WriteStartArray(propertyName);
        foreach (string value in values) writer.WriteStringValue(value);
        writer.WriteEndArray();
    }

    /// <summary>Writes <paramref name="value"/> as a number, or <c>null</c> when it has none (a tensor outside any layer).</summary>
    public static void WriteNumberOrNull(this Utf8JsonWriter writer, string propertyName, int? value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value is int v) writer.WriteNumber(propertyName, v); else writer.WriteNull(propertyName);
    }

    /// <summary>Writes <paramref name="value"/> as a string, or <c>null</c> when it is null.</summary>
    public static void WriteStringOrNull(this Utf8JsonWriter writer, string propertyName, string? value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value is null) writer.WriteNull(propertyName); else writer.WriteString(propertyName, value);
    }
}
