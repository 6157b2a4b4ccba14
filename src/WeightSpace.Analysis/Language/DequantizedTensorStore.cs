namespace WeightSpace.Analysis.Language;

/// <summary>A store whose block-quantised tensors (GGUF Q8_0, Q4_K, …) read as float32, decoded with ggml's arithmetic
/// when asked for; other tensors pass through. Not owning: the caller disposes the inner store.</summary>
/// <remarks>The forward pass takes F32/BF16/F16/F64 tensors; a quantised GGUF is evaluated on exactly the values
/// llama.cpp's dequantisation produces (bit-identical to gguf-py, docs/formats-gguf.md).</remarks>
public sealed class DequantizedTensorStore : TensorStore
{
    private readonly TensorStore _inner;
    private readonly List<TensorInfo> _tensors;
    private readonly bool _ownsInner;

    /// <summary>Wraps <paramref name="inner"/>; with <paramref name="ownsInner"/>, disposing this store disposes it.</summary>
    public DequantizedTensorStore(TensorStore inner, bool ownsInner = false) : base((inner ?? throw new ArgumentNullException(nameof(inner))).Path)
    {
        _inner = inner;
        _ownsInner = ownsInner;
        _tensors = [.. inner.Tensors.Select(t => t.DType.IsBlockQuantized() ? t with { DType = DType.F32 } : t)];
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsInner) _inner.Dispose();
        base.Dispose(disposing);
    }

    /// <inheritdoc/>
    public override CheckpointFormat Format => _inner.Format;

    /// <inheritdoc/>
    public override IReadOnlyList<TensorInfo> Tensors => _tensors;

    /// <inheritdoc/>
    protected override TensorBuffer ReadCore(TensorInfo info)
    {
        if (_inner.GetInfo(info.Name).DType == info.DType) return _inner.Read(info.Name);
        float[] values = _inner.ReadSingle(info.Name);
        var bytes = new byte[checked(values.Length * sizeof(float))];
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(bytes);
        return TensorBuffer.FromBytes(info, bytes);
    }
}
