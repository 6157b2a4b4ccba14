namespace WeightSpace.Formats.Gguf;

/// <summary>One GGUF metadata value: a scalar (boxed <see cref="byte"/>, <see cref="sbyte"/>, …, <see cref="double"/>,
/// <see cref="bool"/>), a <see cref="string"/>, or an array (a typed .NET array of the element type: <c>int[]</c>,
/// <c>string[]</c>, …, or <see cref="GgufValue"/>[] for arrays of arrays).</summary>
public sealed class GgufValue
{
    internal GgufValue(GgufValueType type, object value, GgufValueType? elementType = null)
    {
        Type = type;
        Value = value;
        ElementType = elementType;
    }

    /// <summary>The value's type tag.</summary>
    public GgufValueType Type { get; }

    /// <summary>For arrays, the element type; otherwise null.</summary>
    public GgufValueType? ElementType { get; }

    /// <summary>The value (see the class remarks for the .NET type of each <see cref="GgufValueType"/>).</summary>
    public object Value { get; }

    /// <summary>Number of elements of an array; 1 for a scalar or string.</summary>
    public int Count => Value is Array a ? a.Length : 1;

    /// <summary>The value as a 64-bit integer, if it is an integer type that fits.</summary>
    public bool TryGetInt64(out long value)
    {
        switch (Value)
        {
            case byte b: value = b; return true;
            case sbyte sb: value = sb; return true;
            case ushort us: value = us; return true;
            case short s: value = s; return true;
            case uint ui: value = ui; return true;
            case int i: value = i; return true;
            case long l: value = l; return true;
            case ulong ul when ul <= long.MaxValue: value = (long)ul; return true;
            default: value = 0; return false;
        }
    }

    /// <summary>The value as a double, if it is a number.</summary>
    public bool TryGetDouble(out double value)
    {
        if (Value is float f) { value = f; return true; }
        if (Value is double d) { value = d; return true; }
        if (Value is ulong ul) { value = ul; return true; }
        if (TryGetInt64(out long l)) { value = l; return true; }
        value = 0;
        return false;
    }

    /// <summary>The type as gguf-py names it: <c>UINT32</c>, <c>STRING</c>, <c>ARRAY</c>, ….</summary>
    public static string TypeName(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => "UINT8", GgufValueType.Int8 => "INT8", GgufValueType.UInt16 => "UINT16",
        GgufValueType.Int16 => "INT16", GgufValueType.UInt32 => "UINT32", GgufValueType.Int32 => "INT32",
        GgufValueType.Float32 => "FLOAT32", GgufValueType.Bool => "BOOL", GgufValueType.String => "STRING",
        GgufValueType.Array => "ARRAY", GgufValueType.UInt64 => "UINT64", GgufValueType.Int64 => "INT64",
        GgufValueType.Float64 => "FLOAT64", _ => ((int)type).ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>A one-line rendering: scalars as invariant text, arrays as their first <paramref name="maxElements"/>
    /// elements and their length, e.g. <c>[1, -2, 3, … (7 × INT32)]</c>.</summary>
    public string ToString(int maxElements)
    {
        if (Value is not Array array) return Scalar(Value);
        var sb = new StringBuilder("[");
        int shown = Math.Min(array.Length, Math.Max(0, maxElements));
        for (int i = 0; i < shown; i++)
        {
            if (i > 0) sb.Append(", ");
            object? item = array.GetValue(i);
            sb.Append(item is string s ? Quote(s) : item is GgufValue nested ? nested.ToString(maxElements) : Scalar(item!));
        }
        if (shown < array.Length) sb.Append(shown > 0 ? ", … " : "… ");
        if (shown < array.Length || array.Length == 0)
            sb.Append(CultureInfo.InvariantCulture, $"({array.Length} × {TypeName(ElementType!.Value)})");
        return sb.Append(']').ToString();
    }

    /// <inheritdoc/>
    public override string ToString() => ToString(8);

    private static string Scalar(object value) => value switch
    {
        bool b => b ? "true" : "false",
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable x => x.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\"";
}
