using static TorchSharp.torch;

namespace WeightSpace.Analysis.Tensors;

/// <summary>Moves tensors read from a checkpoint into TorchSharp.</summary>
public static class TorchTensors
{
    /// <summary>The TorchSharp scalar type that stores <paramref name="dtype"/> bit for bit.</summary>
    /// <exception cref="NotSupportedException">TorchSharp has no such type (the float8 types).</exception>
    public static ScalarType ToScalarType(this DType dtype) => dtype switch
    {
        DType.F64 => ScalarType.Float64,
        DType.F32 => ScalarType.Float32,
        DType.F16 => ScalarType.Float16,
        DType.BF16 => ScalarType.BFloat16,
        DType.I64 => ScalarType.Int64,
        DType.I32 => ScalarType.Int32,
        DType.I16 => ScalarType.Int16,
        DType.I8 => ScalarType.Int8,
        DType.U8 => ScalarType.Byte,
        DType.Bool => ScalarType.Bool,
        _ => throw new NotSupportedException($"TorchSharp has no {dtype} type; read it as float32 with TensorBuffer.CopyTo."),
    };

    /// <summary>A new CPU tensor with the buffer's shape and values, as <paramref name="dtype"/> (the stored dtype if null).</summary>
    /// <remarks>The bytes are copied once into a tensor of the stored type, then cast if asked; float8 tensors are
    /// decoded to float32 first, and so are block-quantised (GGUF) tensors. The caller owns (and disposes, or scopes) the result.</remarks>
    public static Tensor ToTorch(this TensorBuffer buffer, ScalarType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        long[] shape = buffer.Info.Shape.ToArray();
        using var scope = NewDisposeScope();
        Tensor stored;
        if (buffer.Info.DType is DType.F8_E4M3 or DType.F8_E5M2 || buffer.Info.DType.IsBlockQuantized())
        {
            stored = tensor(buffer.ToSingleArray(), shape);
        }
        else
        {
            stored = empty(shape, buffer.Info.DType.ToScalarType());
            // The setter only reads its argument; it is typed Span<byte>, so view the read-only bytes as one.
            var bytes = buffer.Bytes;
            if (!bytes.IsEmpty) stored.bytes = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(bytes), bytes.Length);
        }
        var result = dtype is { } d && d != stored.dtype ? stored.to_type(d) : stored;
        return result.MoveToOuterDisposeScope();
    }
}
