namespace WeightSpace;

/// <summary>Element type of a stored tensor. Names follow safetensors (<c>F32</c>, <c>BF16</c>, …).</summary>
public enum DType
{
    /// <summary>IEEE 754 binary64.</summary>
    F64,
    /// <summary>IEEE 754 binary32.</summary>
    F32,
    /// <summary>IEEE 754 binary16.</summary>
    F16,
    /// <summary>bfloat16: the upper 16 bits of a binary32.</summary>
    BF16,
    /// <summary>float8 e4m3fn (OCP FP8): bias 7, no infinities, NaN is S.1111.111.</summary>
    F8_E4M3,
    /// <summary>float8 e5m2 (OCP FP8): bias 15, IEEE-style infinities and NaNs.</summary>
    F8_E5M2,
    /// <summary>Signed 64-bit integer.</summary>
    I64,
    /// <summary>Signed 32-bit integer.</summary>
    I32,
    /// <summary>Signed 16-bit integer.</summary>
    I16,
    /// <summary>Signed 8-bit integer.</summary>
    I8,
    /// <summary>Unsigned 8-bit integer.</summary>
    U8,
    /// <summary>Boolean stored as one byte (0 or 1).</summary>
    Bool,
}

/// <summary>Facts about <see cref="DType"/> values.</summary>
public static class DTypes
{
    /// <summary>Size of one element in bytes.</summary>
    public static int SizeInBytes(this DType dtype) => dtype switch
    {
        DType.F64 or DType.I64 => 8,
        DType.F32 or DType.I32 => 4,
        DType.F16 or DType.BF16 or DType.I16 => 2,
        DType.F8_E4M3 or DType.F8_E5M2 or DType.I8 or DType.U8 or DType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    /// <summary>True for the floating-point types (F64, F32, F16, BF16 and both float8 types).</summary>
    public static bool IsFloatingPoint(this DType dtype) =>
        dtype is DType.F64 or DType.F32 or DType.F16 or DType.BF16 or DType.F8_E4M3 or DType.F8_E5M2;

    /// <summary>The safetensors header name: <c>F32</c>, <c>BOOL</c>, <c>F8_E4M3</c>, ….</summary>
    public static string ToSafetensorsName(this DType dtype) => dtype == DType.Bool ? "BOOL" : dtype.ToString();

    /// <summary>Parses a safetensors dtype name (case-sensitive, as the format specifies).</summary>
    /// <returns><see langword="false"/> if <paramref name="name"/> is not a dtype WeightSpace reads.</returns>
    public static bool TryParseSafetensorsName(string name, out DType dtype)
    {
        switch (name)
        {
            case "F64": dtype = DType.F64; return true;
            case "F32": dtype = DType.F32; return true;
            case "F16": dtype = DType.F16; return true;
            case "BF16": dtype = DType.BF16; return true;
            case "F8_E4M3": dtype = DType.F8_E4M3; return true;
            case "F8_E5M2": dtype = DType.F8_E5M2; return true;
            case "I64": dtype = DType.I64; return true;
            case "I32": dtype = DType.I32; return true;
            case "I16": dtype = DType.I16; return true;
            case "I8": dtype = DType.I8; return true;
            case "U8": dtype = DType.U8; return true;
            case "BOOL": dtype = DType.Bool; return true;
            default: dtype = default; return false;
        }
    }

    /// <summary>Lower-case name used in CLI options and JSON output: <c>f32</c>, <c>bf16</c>, <c>bool</c>, ….</summary>
    public static string ToShortName(this DType dtype) => dtype.ToString().ToLowerInvariant();

    /// <summary>Parses <c>f32</c>, <c>float32</c>, <c>F32</c>, <c>bf16</c>, <c>bfloat16</c>, <c>f16</c>, <c>float16</c>, <c>half</c>, <c>f64</c>, <c>float64</c>.</summary>
    public static bool TryParse(string text, out DType dtype)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "f64" or "float64" or "double": dtype = DType.F64; return true;
            case "f32" or "float32" or "float": dtype = DType.F32; return true;
            case "f16" or "float16" or "half" or "fp16": dtype = DType.F16; return true;
            case "bf16" or "bfloat16": dtype = DType.BF16; return true;
            case "f8_e4m3" or "float8_e4m3fn": dtype = DType.F8_E4M3; return true;
            case "f8_e5m2" or "float8_e5m2": dtype = DType.F8_E5M2; return true;
            case "i64" or "int64": dtype = DType.I64; return true;
            case "i32" or "int32": dtype = DType.I32; return true;
            case "i16" or "int16": dtype = DType.I16; return true;
            case "i8" or "int8": dtype = DType.I8; return true;
            case "u8" or "uint8": dtype = DType.U8; return true;
            case "bool": dtype = DType.Bool; return true;
            default: dtype = default; return false;
        }
    }
}
