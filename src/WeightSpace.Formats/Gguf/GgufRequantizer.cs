namespace WeightSpace.Formats.Gguf;

/// <summary>Rewrites a GGUF file with its matrices in another type (F32, F16, BF16, Q8_0, Q4_0), like
/// <c>llama-quantize</c>: metadata, names and row order are kept, 1-D tensors (norms, biases) stay F32, and
/// <c>general.file_type</c> / <c>general.quantization_version</c> are set. Quantisation is llama.cpp's reference
/// (<c>quantize_row_q8_0_ref</c>, <c>quantize_row_q4_0_ref</c>), so a Q8_0 of an F32 file is byte-identical to
/// llama-quantize's.</summary>
public static class GgufRequantizer
{
    /// <summary>The types <see cref="Write"/> produces.</summary>
    public static bool IsWritable(DType type) => type is DType.F32 or DType.F16 or DType.BF16 or DType.Q8_0 or DType.Q4_0;

    /// <summary>Writes <paramref name="outputPath"/> (through a temp file, fsync and rename) from <paramref name="sourcePath"/>.</summary>
    /// <param name="sourcePath">A GGUF file, or any part of a split set.</param>
    /// <param name="outputPath">The output; with <paramref name="split"/>, the name the parts are derived from.</param>
    /// <param name="type">The matrices' type.</param>
    /// <param name="options">Reader limits.</param>
    /// <param name="split">Write a gguf-split set (all parts or none) instead of one file.</param>
    /// <returns>The files written.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="type"/> is not writable.</exception>
    /// <exception cref="InvalidGgufException">The source is invalid.</exception>
    public static IReadOnlyList<string> Write(string sourcePath, string outputPath, DType type, GgufOptions? options = null, GgufSplitOptions? split = null)
    {
        if (!IsWritable(type)) throw new ArgumentOutOfRangeException(nameof(type), type, "GGUF output types are F32, F16, BF16, Q8_0 and Q4_0.");
        using var source = GgufReader.Open(sourcePath, (options ?? new GgufOptions()) with { Naming = GgufNaming.Gguf });
        var tensors = source.StoredTensors.Select(t =>
        {
            DType outType = OutputType(t, type);
            return new GgufTensorToWrite(t.Name, [.. t.Ne], outType, () => Encode(source.ReadSingle(t.Name), outType));
        }).ToList();
        return GgufFileWriter.Write(outputPath, Metadata(source.KeyValues, type), tensors, source.Alignment, split: split);
    }

    /// <summary>Splits a GGUF file (or re-splits a set) into a gguf-split set, tensors and metadata copied exactly as
    /// stored: what <c>llama-gguf-split --split</c> writes.</summary>
    /// <param name="sourcePath">A GGUF file, or any part of a split set.</param>
    /// <param name="outputPath">The output name; parts are <c>PREFIX-00001-of-0000N.gguf</c> with PREFIX this name without <c>.gguf</c>.</param>
    /// <param name="split">The size or tensor-count limit per part.</param>
    /// <param name="options">Reader limits.</param>
    /// <returns>The parts written, in order.</returns>
    /// <exception cref="InvalidGgufException">The source is invalid.</exception>
    /// <exception cref="ArgumentException"><paramref name="split"/> is invalid or would leave a part empty.</exception>
    public static IReadOnlyList<string> Split(string sourcePath, string outputPath, GgufSplitOptions split, GgufOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(split);
        using var source = GgufReader.Open(sourcePath, (options ?? new GgufOptions()) with { Naming = GgufNaming.Gguf });
        var tensors = source.StoredTensors.Select(t => new GgufTensorToWrite(t.Name, [.. t.Ne], t.DType, () => source.StoredBytes(t))).ToList();
        return GgufFileWriter.Write(outputPath, source.KeyValues, tensors, source.Alignment, split: split);
    }

    // llama-quantize keeps 1-D tensors in F32; rows that are not whole blocks cannot take a block type.
    private static DType OutputType(GgufTensorEntry t, DType type) =>
        t.Ne.Count < 2 ? DType.F32 : t.Ne[0] % type.BlockElementCount() != 0 ? DType.F16 : type;

    private static List<KeyValuePair<string, GgufValue>> Metadata(IReadOnlyList<KeyValuePair<string, GgufValue>> source, DType type)
    {
        uint fileType = FileType(type);
        var result = source.Where(kv => kv.Key is not ("general.file_type" or "general.quantization_version")).ToList();
        result.Add(new("general.quantization_version", new GgufValue(GgufValueType.UInt32, 2u)));   // llama-quantize always writes it
        result.Add(new("general.file_type", new GgufValue(GgufValueType.UInt32, fileType)));
        return result;
    }

    /// <summary>llama.cpp's <c>llama_ftype</c> of a file whose matrices are <paramref name="type"/> (32 = MOSTLY_BF16).</summary>
    internal static uint FileType(DType type) => type switch { DType.F32 => 0, DType.F16 => 1, DType.Q4_0 => 2, DType.Q8_0 => 7, _ => 32 };

    internal static byte[] Encode(ReadOnlySpan<float> values, DType type)
    {
        var bytes = new byte[type.ByteCount(values.Length)];
        switch (type)
        {
            case DType.Q8_0:
                for (int b = 0; b < values.Length / 32; b++) QuantizeQ8_0(values.Slice(32 * b, 32), bytes.AsSpan(34 * b, 34));
                break;
            case DType.Q4_0:
                for (int b = 0; b < values.Length / 32; b++) QuantizeQ4_0(values.Slice(32 * b, 32), bytes.AsSpan(18 * b, 18));
                break;
            default:
                DTypeConversion.FromSingle(values, type, bytes);
                break;
        }
        return bytes;
    }

    // quantize_row_q8_0_ref: d = max|x| / 127, q = roundf(x / d) (half away from zero), d stored as f16.
    private static void QuantizeQ8_0(ReadOnlySpan<float> x, Span<byte> y)
    {
        float amax = 0;
        foreach (float v in x) amax = Math.Max(amax, Math.Abs(v));
        float d = amax / 127;
        float id = d != 0 ? 1.0f / d : 0.0f;
        BinaryPrimitives.WriteUInt16LittleEndian(y, BitConverter.HalfToUInt16Bits((Half)d));
        for (int i = 0; i < 32; i++) y[2 + i] = (byte)(sbyte)MathF.Round(x[i] * id, MidpointRounding.AwayFromZero);
    }

    // quantize_row_q4_0_ref: the value of largest magnitude (with its sign) sets d = max / −8; q = min(15, (int8)(x/d + 8.5)).
    private static void QuantizeQ4_0(ReadOnlySpan<float> x, Span<byte> y)
    {
        float amax = 0, max = 0;
        foreach (float v in x)
        {
            if (amax < Math.Abs(v)) { amax = Math.Abs(v); max = v; }
        }
        float d = max / -8;
        float id = d != 0 ? 1.0f / d : 0.0f;
        BinaryPrimitives.WriteUInt16LittleEndian(y, BitConverter.HalfToUInt16Bits((Half)d));
        for (int j = 0; j < 16; j++)
        {
            int q0 = Math.Min(15, (int)(sbyte)(x[j] * id + 8.5f));
            int q1 = Math.Min(15, (int)(sbyte)(x[16 + j] * id + 8.5f));
            y[2 + j] = (byte)(q0 | (q1 << 4));
        }
    }
}
