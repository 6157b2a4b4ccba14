namespace WeightSpace;

/// <summary>Element type of a stored tensor. Names follow safetensors (<c>F32</c>, <c>BF16</c>, …) and, for the
/// block-quantised types, ggml (<c>Q4_K</c>, <c>IQ4_NL</c>, …).</summary>
/// <remarks>A block-quantised type stores <see cref="DTypes.BlockElementCount"/> elements in
/// <see cref="DTypes.BytesPerBlock"/> bytes; its values are real numbers read through
/// <see cref="DTypeConversion.ToSingle"/> (or <see cref="TensorBuffer.CopyTo(Span{float})"/>), never element by element
/// from the bytes. Sizes come from <see cref="DTypes.ByteCount"/>, which checks whole blocks.</remarks>
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
    /// <summary>ggml Q4_0: 32 elements in 18 bytes, f16 scale d and 4-bit q; x = d·(q − 8).</summary>
    Q4_0,
    /// <summary>ggml Q4_1: 32 elements in 20 bytes, f16 scale d, f16 minimum m and 4-bit q; x = d·q + m.</summary>
    Q4_1,
    /// <summary>ggml Q5_0: 32 elements in 22 bytes, f16 scale d and 5-bit q; x = d·(q − 16).</summary>
    Q5_0,
    /// <summary>ggml Q5_1: 32 elements in 24 bytes, f16 scale d, f16 minimum m and 5-bit q; x = d·q + m.</summary>
    Q5_1,
    /// <summary>ggml Q8_0: 32 elements in 34 bytes, f16 scale d and int8 q; x = d·q.</summary>
    Q8_0,
    /// <summary>ggml Q2_K: 256 elements in 84 bytes, 16 groups with 4-bit scale and minimum, 2-bit q.</summary>
    Q2_K,
    /// <summary>ggml Q3_K: 256 elements in 110 bytes, 16 groups with a 6-bit signed scale, 3-bit q.</summary>
    Q3_K,
    /// <summary>ggml Q4_K: 256 elements in 144 bytes, 8 groups with a 6-bit scale and minimum, 4-bit q.</summary>
    Q4_K,
    /// <summary>ggml Q5_K: 256 elements in 176 bytes, 8 groups with a 6-bit scale and minimum, 5-bit q.</summary>
    Q5_K,
    /// <summary>ggml Q6_K: 256 elements in 210 bytes, 16 groups with an int8 scale, 6-bit q.</summary>
    Q6_K,
    /// <summary>ggml IQ4_NL: 32 elements in 18 bytes, f16 scale and 4-bit indices into a fixed non-linear codebook.</summary>
    IQ4_NL,
    /// <summary>ggml IQ4_XS: 256 elements in 136 bytes, 8 groups with a 6-bit signed scale, IQ4_NL's codebook.</summary>
    IQ4_XS,
}

/// <summary>Facts about <see cref="DType"/> values.</summary>
public static class DTypes
{
    /// <summary>Size of one element in bytes, for the per-element types.</summary>
    /// <exception cref="NotSupportedException"><paramref name="dtype"/> is block-quantised: its elements have no byte
    /// size of their own (use <see cref="ByteCount"/>, <see cref="BytesPerBlock"/>).</exception>
    public static int SizeInBytes(this DType dtype) => dtype switch
    {
        DType.F64 or DType.I64 => 8,
        DType.F32 or DType.I32 => 4,
        DType.F16 or DType.BF16 or DType.I16 => 2,
        DType.F8_E4M3 or DType.F8_E5M2 or DType.I8 or DType.U8 or DType.Bool => 1,
        _ when dtype.IsBlockQuantized() => throw new NotSupportedException(
            $"{dtype} is block-quantised ({dtype.BlockElementCount()} elements in {dtype.BytesPerBlock()} bytes); an element has no byte size of its own."),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    /// <summary>True for the ggml block-quantised types (<see cref="DType.Q4_0"/> … <see cref="DType.IQ4_XS"/>).</summary>
    public static bool IsBlockQuantized(this DType dtype) => dtype is >= DType.Q4_0 and <= DType.IQ4_XS;

    /// <summary>Elements per block: 1 for the per-element types, 32 or 256 for the block-quantised ones.</summary>
    public static int BlockElementCount(this DType dtype) => dtype switch
    {
        DType.Q4_0 or DType.Q4_1 or DType.Q5_0 or DType.Q5_1 or DType.Q8_0 or DType.IQ4_NL => 32,
        DType.Q2_K or DType.Q3_K or DType.Q4_K or DType.Q5_K or DType.Q6_K or DType.IQ4_XS => 256,
        _ => 1,
    };

    /// <summary>Bytes per block: the element size for the per-element types, the ggml block size for the others.</summary>
    public static int BytesPerBlock(this DType dtype) => dtype switch
    {
        DType.Q4_0 or DType.IQ4_NL => 18,
        DType.Q4_1 => 20,
        DType.Q5_0 => 22,
        DType.Q5_1 => 24,
        DType.Q8_0 => 34,
        DType.Q2_K => 84,
        DType.Q3_K => 110,
        DType.Q4_K => 144,
        DType.Q5_K => 176,
        DType.Q6_K => 210,
        DType.IQ4_XS => 136,
        _ => dtype.SizeInBytes(),
    };

    /// <summary>Stored bits per element, counting the block's scales: 32 for F32, 4.5 for Q4_0, 6.5625 for Q6_K.</summary>
    public static double BitsPerWeight(this DType dtype) => 8.0 * dtype.BytesPerBlock() / dtype.BlockElementCount();

    /// <summary>Bytes that <paramref name="elementCount"/> elements of <paramref name="dtype"/> occupy, checked.</summary>
    /// <exception cref="ArgumentException">The count is negative or not a whole number of blocks.</exception>
    /// <exception cref="OverflowException">The byte count does not fit a 64-bit integer.</exception>
    public static long ByteCount(this DType dtype, long elementCount)
    {
        if (!TryGetByteCount(dtype, elementCount, out long bytes))
        {
            if (elementCount >= 0 && elementCount % dtype.BlockElementCount() == 0)
                throw new OverflowException($"{elementCount} elements of {dtype} need more than 2^63 bytes.");
            throw new ArgumentException(elementCount < 0
                ? $"Element count {elementCount} is negative."
                : $"{elementCount} elements is not a whole number of {dtype} blocks of {dtype.BlockElementCount()}.", nameof(elementCount));
        }
        return bytes;
    }

    /// <summary>Like <see cref="ByteCount"/>, without throwing: false when the count is negative, not whole blocks, or
    /// the bytes overflow a 64-bit integer (for validators of untrusted files).</summary>
    public static bool TryGetByteCount(this DType dtype, long elementCount, out long bytes)
    {
        bytes = 0;
        int block = dtype.BlockElementCount();
        if (elementCount < 0 || elementCount % block != 0) return false;
        long blocks = elementCount / block, perBlock = dtype.BytesPerBlock();
        if (blocks > long.MaxValue / perBlock) return false;
        bytes = blocks * perBlock;
        return true;
    }

    /// <summary>True for the types whose values are real numbers: F64, F32, F16, BF16, both float8 types and the
    /// block-quantised types (which decode to float32).</summary>
    public static bool IsFloatingPoint(this DType dtype) =>
        dtype is DType.F64 or DType.F32 or DType.F16 or DType.BF16 or DType.F8_E4M3 or DType.F8_E5M2 || dtype.IsBlockQuantized();

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
