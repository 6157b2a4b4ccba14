using System.Buffers.Binary;
using System.Text;

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
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="type"/> is not writable.</exception>
    /// <exception cref="InvalidGgufException">The source is invalid.</exception>
    public static void Write(string sourcePath, string outputPath, DType type, GgufOptions? options = null)
    {
        if (!IsWritable(type)) throw new ArgumentOutOfRangeException(nameof(type), type, "GGUF output types are F32, F16, BF16, Q8_0 and Q4_0.");
        using var source = GgufReader.Open(sourcePath, (options ?? new GgufOptions()) with { Naming = GgufNaming.Gguf });
        int alignment = source.Alignment;
        var plan = source.StoredTensors.Select(t => (Entry: t, Type: OutputType(t, type))).ToList();

        string full = Path.GetFullPath(outputPath);
        string tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                var metadata = Metadata(source.KeyValues, type);
                var head = new MemoryStream();
                head.Write("GGUF"u8);
                U32(head, 3);
                U64(head, (ulong)plan.Count);
                U64(head, (ulong)metadata.Count);
                foreach (var (key, value) in metadata)
                {
                    Str(head, key);
                    U32(head, (uint)value.Type);
                    Value(head, value);
                }
                long offset = 0;
                var offsets = new List<long>();
                foreach (var (entry, outType) in plan)
                {
                    Str(head, entry.Name);
                    U32(head, (uint)entry.Ne.Count);
                    foreach (long d in entry.Ne) U64(head, (ulong)d);
                    GgmlTypes.TryGetId(outType, out uint id);
                    U32(head, id);
                    U64(head, (ulong)offset);
                    offsets.Add(offset);
                    offset = Align(checked(offset + outType.ByteCount(entry.Ne.Aggregate(1L, (a, b) => checked(a * b)))), alignment);
                }
                head.Write(new byte[Align(head.Length, alignment) - head.Length]);
                head.Position = 0;
                head.CopyTo(stream);
                long dataStart = stream.Position;
                for (int i = 0; i < plan.Count; i++)
                {
                    var (entry, outType) = plan[i];
                    stream.Write(new byte[dataStart + offsets[i] - stream.Position]);
                    float[] values = source.ReadSingle(entry.Name);
                    stream.Write(Encode(values, outType));
                }
                stream.Write(new byte[Align(stream.Position - dataStart, alignment) - (stream.Position - dataStart)]);
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    // llama-quantize keeps 1-D tensors in F32; rows that are not whole blocks cannot take a block type.
    private static DType OutputType(GgufTensorEntry t, DType type) =>
        t.Ne.Count < 2 ? DType.F32 : t.Ne[0] % type.BlockElementCount() != 0 ? DType.F16 : type;

    private static List<KeyValuePair<string, GgufValue>> Metadata(IReadOnlyList<KeyValuePair<string, GgufValue>> source, DType type)
    {
        uint fileType = type switch { DType.F32 => 0, DType.F16 => 1, DType.Q4_0 => 2, DType.Q8_0 => 7, _ => 32 };   // llama_ftype; 32 = MOSTLY_BF16
        var result = source.Where(kv => kv.Key is not ("general.file_type" or "general.quantization_version")).ToList();
        result.Add(new("general.quantization_version", new GgufValue(GgufValueType.UInt32, 2u)));   // llama-quantize always writes it
        result.Add(new("general.file_type", new GgufValue(GgufValueType.UInt32, fileType)));
        return result;
    }

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

    private static long Align(long n, int alignment) => checked(n + (alignment - n % alignment) % alignment);

    private static void U32(Stream s, uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); s.Write(b); }
    private static void U64(Stream s, ulong v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); s.Write(b); }
    private static void Str(Stream s, string v) { var b = Encoding.UTF8.GetBytes(v); U64(s, (ulong)b.Length); s.Write(b); }

    private static void Value(Stream s, GgufValue v)
    {
        if (v.Type == GgufValueType.Array)
        {
            var array = (Array)v.Value;
            U32(s, (uint)v.ElementType!.Value);
            U64(s, (ulong)array.Length);
            foreach (object item in array)
                if (item is GgufValue nested) Value(s, nested);
                else Scalar(s, item);
            return;
        }
        Scalar(s, v.Value);
    }

    private static void Scalar(Stream s, object value)
    {
        Span<byte> b = stackalloc byte[8];
        switch (value)
        {
            case byte x: s.WriteByte(x); break;
            case sbyte x: s.WriteByte((byte)x); break;
            case bool x: s.WriteByte(x ? (byte)1 : (byte)0); break;
            case ushort x: BinaryPrimitives.WriteUInt16LittleEndian(b, x); s.Write(b[..2]); break;
            case short x: BinaryPrimitives.WriteInt16LittleEndian(b, x); s.Write(b[..2]); break;
            case uint x: U32(s, x); break;
            case int x: BinaryPrimitives.WriteInt32LittleEndian(b, x); s.Write(b[..4]); break;
            case float x: BinaryPrimitives.WriteSingleLittleEndian(b, x); s.Write(b[..4]); break;
            case ulong x: U64(s, x); break;
            case long x: BinaryPrimitives.WriteInt64LittleEndian(b, x); s.Write(b); break;
            case double x: BinaryPrimitives.WriteDoubleLittleEndian(b, x); s.Write(b); break;
            case string x: Str(s, x); break;
            default: throw new InvalidOperationException($"Unexpected metadata value {value.GetType()}.");
        }
    }
}
