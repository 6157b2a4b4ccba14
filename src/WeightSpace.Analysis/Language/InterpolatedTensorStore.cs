namespace WeightSpace.Analysis.Language;

/// <summary>Σ wᵢθᵢ over checkpoints of one architecture as a lazy store: each tensor is read from every checkpoint and
/// combined in float32 when it is asked for, so a forward pass holds one layer of each model at a time. Two models with
/// weights (1−α, α) give the path θ(α) = (1−α)θ_A + αθ_B; three give a point of the plane through A, B, C.</summary>
/// <remarks>At α = 0 and α = 1 the result is bit-identical to A and B widened to float32 (x·1 + y·0 = x), so the
/// path's endpoints score exactly as the models themselves.</remarks>
internal sealed class InterpolatedTensorStore : TensorStore
{
    private readonly TensorStore[] _stores;
    private readonly float[] _weights;
    private readonly List<TensorInfo> _tensors;

    public InterpolatedTensorStore(TensorStore a, TensorStore b, double alpha)
        : this([a, b], [1 - alpha, alpha], $"{a.Path} ↔ {b.Path} at α = {alpha:G4}")
    {
    }

    public InterpolatedTensorStore(IReadOnlyList<TensorStore> stores, IReadOnlyList<double> weights, string name) : base(name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stores.Count, 1);
        ArgumentOutOfRangeException.ThrowIfNotEqual(weights.Count, stores.Count);
        _stores = [.. stores];
        _weights = [.. weights.Select(w => (float)w)];
        _tensors = [];
        var a = _stores[0];
        foreach (var info in a.Tensors)
        {
            foreach (var other in _stores.Skip(1))
            {
                if (!other.TryGetInfo(info.Name, out var o))
                    throw new InvalidCheckpointException(other.Path, info.Name, $"missing, but {a.Path} has it: the models must share an architecture");
                if (o.Shape != info.Shape)
                    throw new InvalidCheckpointException(other.Path, info.Name, $"shape {o.Shape} differs from {info.Shape} in {a.Path}");
            }
            _tensors.Add(info.DType.IsFloatingPoint() ? info with { DType = DType.F32 } : info);
        }
    }

    public override CheckpointFormat Format => CheckpointFormat.Safetensors;

    public override IReadOnlyList<TensorInfo> Tensors => _tensors;

    protected override TensorBuffer ReadCore(TensorInfo info)
    {
        if (info.DType != DType.F32) return _stores[0].Read(info.Name);
        var x = _stores[0].ReadSingle(info.Name);
        System.Numerics.Tensors.TensorPrimitives.Multiply(x, _weights[0], x);
        for (int s = 1; s < _stores.Length; s++)
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(_stores[s].ReadSingle(info.Name), _weights[s], x, x);
        var bytes = new byte[x.Length * sizeof(float)];
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()).CopyTo(bytes);
        return TensorBuffer.FromBytes(info, bytes);
    }
}
