namespace WeightSpace.Analysis.Outliers;

/// <summary>A checkpoint with one weight set to zero, everything else read unchanged from the inner store (not owned).</summary>
/// <remarks>The tensor keeps its stored dtype: zero is exact in every floating-point format, so the only change to the
/// model is that one element. Used to measure what a super weight is worth.</remarks>
public sealed class ZeroedTensorStore : TensorStore
{
    private readonly TensorStore _inner;
    private readonly string _tensor;
    private readonly long _elementIndex;

    /// <summary>Wraps <paramref name="inner"/> with element [<paramref name="row"/>, <paramref name="column"/>] of
    /// <paramref name="tensor"/> zeroed.</summary>
    /// <exception cref="TensorNotFoundException">No such tensor.</exception>
    /// <exception cref="InvalidCheckpointException">It is not a 2-D F32/F16/BF16/F64 tensor, or the coordinates are outside it.</exception>
    public ZeroedTensorStore(TensorStore inner, string tensor, long row, long column) : base($"{inner?.Path} with {tensor}[{row}, {column}] = 0")
    {
        ArgumentNullException.ThrowIfNull(inner);
        var info = inner.GetInfo(tensor);
        if (info.Shape.Rank != 2 || info.DType is not (DType.F32 or DType.F16 or DType.BF16 or DType.F64))
            throw new InvalidCheckpointException(inner.Path, tensor, $"is {info.DType}{info.Shape}; only a 2-D F32, F16, BF16 or F64 weight can be zeroed");
        if (row < 0 || row >= info.Shape[0] || column < 0 || column >= info.Shape[1])
            throw new InvalidCheckpointException(inner.Path, tensor, $"has shape {info.Shape}; [{row}, {column}] is outside it");
        _inner = inner;
        _tensor = tensor;
        _elementIndex = row * info.Shape[1] + column;
    }

    /// <inheritdoc/>
    public override CheckpointFormat Format => _inner.Format;

    /// <inheritdoc/>
    public override IReadOnlyList<TensorInfo> Tensors => _inner.Tensors;

    /// <inheritdoc/>
    protected override TensorBuffer ReadCore(TensorInfo info)
    {
        if (!string.Equals(info.Name, _tensor, StringComparison.Ordinal)) return _inner.Read(info.Name);
        byte[] bytes;
        using (var buffer = _inner.Read(info.Name)) bytes = buffer.Bytes.ToArray();
        int size = info.DType.SizeInBytes();
        bytes.AsSpan(checked((int)(_elementIndex * size)), size).Clear();
        return TensorBuffer.FromBytes(info, bytes);
    }
}
