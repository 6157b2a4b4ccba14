namespace WeightSpace.Formats.Onnx;

/// <summary>The ONNX <c>TensorProto.DataType</c> codes and their mapping to <see cref="DType"/>.</summary>
internal static class OnnxDataTypes
{
    public const int Float = 1, UInt8 = 2, Int8 = 3, UInt16 = 4, Int16 = 5, Int32 = 6, Int64 = 7, String = 8, Bool = 9,
        Float16 = 10, Double = 11, UInt32 = 12, UInt64 = 13, BFloat16 = 16, Float8E4M3FN = 17, Float8E5M2 = 19;

    private static readonly string[] Names =
    [
        "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING", "BOOL", "FLOAT16", "DOUBLE",
        "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2",
        "FLOAT8E5M2FNUZ", "UINT4", "INT4", "FLOAT4E2M1", "FLOAT8E8M0", "UINT2", "INT2",
    ];

    /// <summary>The spec's enum name (<c>FLOAT</c>, <c>INT64</c>, …), or <c>code N</c> for unknown codes.</summary>
    public static string Name(int code) => code >= 0 && code < Names.Length ? Names[code] : $"code {code}";

    public static bool TryToDType(int code, out DType dtype)
    {
        switch (code)
        {
            case Float: dtype = DType.F32; return true;
            case UInt8: dtype = DType.U8; return true;
            case Int8: dtype = DType.I8; return true;
            case Int16: dtype = DType.I16; return true;
            case Int32: dtype = DType.I32; return true;
            case Int64: dtype = DType.I64; return true;
            case Bool: dtype = DType.Bool; return true;
            case Float16: dtype = DType.F16; return true;
            case Double: dtype = DType.F64; return true;
            case BFloat16: dtype = DType.BF16; return true;
            case Float8E4M3FN: dtype = DType.F8_E4M3; return true;
            case Float8E5M2: dtype = DType.F8_E5M2; return true;
            default: dtype = default; return false;
        }
    }

    /// <summary>The typed TensorProto field that carries <paramref name="code"/> when raw_data is absent (ONNX spec,
    /// TensorProto comments): int32_data for every type of 32 bits or fewer except FLOAT, bit patterns for 16/8-bit floats.</summary>
    public static TypedField FieldFor(int code) => code switch
    {
        Float => TypedField.FloatData,
        Double => TypedField.DoubleData,
        Int64 => TypedField.Int64Data,
        Int32 or Int16 or Int8 or UInt8 or Bool or Float16 or BFloat16 or Float8E4M3FN or Float8E5M2 => TypedField.Int32Data,
        _ => TypedField.None,
    };
}

/// <summary>How typed values are encoded on the wire. The value is the TensorProto field number; the Constant
/// attribute encodings use the AttributeProto numbers (f = 2, i = 3, floats = 7, ints = 8).</summary>
internal enum TypedField
{
    None = 0,
    FloatData = 4,
    Int32Data = 5,
    Int64Data = 7,
    DoubleData = 10,
    UInt64Data = 11,
    AttributeFloat = 102,
    AttributeInt = 103,
    AttributeFloats = 107,
    AttributeInts = 108,
}
