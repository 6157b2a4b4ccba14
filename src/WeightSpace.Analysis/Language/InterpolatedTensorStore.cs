namespace WeightSpace.Analysis.Language;

/// <summary>θ(α) = (1−α)θ_A + αθ_B as a lazy store: each tensor is read from both checkpoints and combined in float32
/// when it is asked for, so a forward pass along the path holds one layer of each model at a time.</summary>
/// <remarks>At α = 0 and α = 1 the result is bit-identical to A and B widened to float32 (x·1 + y·0 = x), so the
/// path's endpoints score exactly as the models themselves.</remarks>
internal sealed class InterpolatedTensorStore : TensorStore
{
    private readonly TensorStore _a, _b;
    private readonly float _alpha;
    private readonly List<TensorInfo> _tensors;

    public InterpolatedTensorStore(TensorStore a, TensorStore b, double alpha) : base($"{a.Path} ↔ {b.Path} at α = {alpha:G4}")
    {
        _a = a;
        _b = b;
        _alpha = (float)alpha;
        _tensors = [];
        foreach (var info in a.Tensors)
        {
            if (!b.TryGetInfo(info.Name, out var other))
                throw new InvalidCheckpointException(b.Path, info.Name, $"missing, but {a.Path} has it: the models must share an architecture");
            if (other.Shape != info.Shape)
                throw new InvalidCheckpointException(b.Path, info.Name, $"shape {other.Shape} differs from {info.Shape} in {a.Path}");
            _tensors.Add(info.DType.IsFloatingPoint() ? info with { DType = DType.F32 } : info);
        }
    }

    public override CheckpointFormat Format => CheckpointFormat.Safetensors;

    public override IReadOnlyList<TensorInfo> Tensors => _tensors;

    protected override TensorBuffer ReadCore(TensorInfo info)
    {
        if (info.DType != DType.F32) return _a.Read(info.Name);
        var x = _a.ReadSingle(info.Name);
        var y = _b.ReadSingle(info.Name);
        System.Numerics.Tensors.TensorPrimitives.Multiply(x, 1 - _alpha, x);
        System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(y, _alpha, x, x);
        var bytes = new byte[x.Length * sizeof(float)];
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()).CopyTo(bytes);
        return TensorBuffer.FromBytes(info, bytes);
    }
}
