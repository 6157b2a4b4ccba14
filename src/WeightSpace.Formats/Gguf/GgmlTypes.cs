namespace WeightSpace.Formats.Gguf;

/// <summary>ggml tensor type ids (<c>enum ggml_type</c> in ggml.h) and the <see cref="DType"/> each one reads as.</summary>
internal static class GgmlTypes
{
    // Index = ggml type id; null where the id was retired (Q4_2, Q4_3, the repacked _4_4/_4_8/_8_8 types).
    private static readonly string?[] Names =
    [
        "F32", "F16", "Q4_0", "Q4_1", null, null, "Q5_0", "Q5_1", "Q8_0", "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K",
        "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16",
        "I32", "I64", "F64", "IQ1_M", "BF16", null, null, null, "TQ1_0", "TQ2_0", null, null, null, "MXFP4",
    ];

    /// <summary>ggml's name of type <paramref name="id"/>, or null for an id ggml does not define.</summary>
    public static string? Name(uint id) => id < Names.Length ? Names[id] : null;

    /// <summary>The dtype WeightSpace reads type <paramref name="id"/> as; false for unknown or unread types.</summary>
    public static bool TryGetDType(uint id, out DType dtype)
    {
        DType? d = id switch
        {
            0 => DType.F32, 1 => DType.F16, 2 => DType.Q4_0, 3 => DType.Q4_1, 6 => DType.Q5_0, 7 => DType.Q5_1,
            8 => DType.Q8_0, 10 => DType.Q2_K, 11 => DType.Q3_K, 12 => DType.Q4_K, 13 => DType.Q5_K, 14 => DType.Q6_K,
            20 => DType.IQ4_NL, 23 => DType.IQ4_XS, 24 => DType.I8, 25 => DType.I16, 26 => DType.I32, 27 => DType.I64,
            28 => DType.F64, 30 => DType.BF16,
            _ => null,
        };
        dtype = d ?? default;
        return d is not null;
    }

    /// <summary>The ggml type id of <paramref name="dtype"/>; false for dtypes GGUF cannot store (float8, U8, Bool).</summary>
    public static bool TryGetId(DType dtype, out uint id)
    {
        for (uint i = 0; i < Names.Length; i++)
        {
            if (TryGetDType(i, out var d) && d == dtype)
            {
                id = i;
                return true;
            }
        }
        id = 0;
        return false;
    }
}
