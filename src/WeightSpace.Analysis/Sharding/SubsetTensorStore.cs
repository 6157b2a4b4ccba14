namespace WeightSpace.Analysis.Sharding;

/// <summary>A view of some of another store's tensors (those of one shard), in the other store's order. Reads go to
/// the other store; disposing the view leaves it open.</summary>
public sealed class SubsetTensorStore : TensorStore
{
    private readonly TensorStore _inner;
    private readonly IReadOnlyList<TensorInfo> _tensors;

    /// <summary>Creates the view of the tensors of <paramref name="inner"/> that <paramref name="include"/> keeps.</summary>
    public SubsetTensorStore(TensorStore inner, Func<TensorInfo, bool> include) : base(inner.Path)
    {
        _inner = inner;
        _tensors = inner.Tensors.Where(include).ToList();
    }

    /// <inheritdoc/>
    public override CheckpointFormat Format => _inner.Format;

    /// <inheritdoc/>
    public override IReadOnlyList<TensorInfo> Tensors => _tensors;

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> Metadata => _inner.Metadata;

    /// <inheritdoc/>
    protected override TensorBuffer ReadCore(TensorInfo info) => _inner.Read(info.Name);
}
