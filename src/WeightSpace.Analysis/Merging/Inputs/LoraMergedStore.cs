using WeightSpace.Analysis.Lora;
using WeightSpace.Formats.Peft;

namespace WeightSpace.Analysis.Merging.Inputs;

/// <summary>A model with a PEFT adapter merged in, computed one tensor at a time as it is read: a config's
/// <c>MODEL+ADAPTER</c> reference. mergekit merges the LoRA into the model (PEFT <c>merge_and_unload</c>) and saves it
/// in the model's dtype (or <c>--lora-merge-dtype</c>) before merging; this store gives the same tensors without the
/// copy on disk: W + s·B·A summed in float32 by <see cref="LoraApplication"/>'s arithmetic, rounded once to that dtype.</summary>
internal sealed class LoraMergedStore : TensorStore
{
    private readonly TensorStore _base;
    private readonly PeftAdapter _adapter;
    private readonly Dictionary<string, BoundModule> _modules = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BoundModule> _biases = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorInfo> _replacements = new(StringComparer.Ordinal);
    private readonly TensorInfo[] _tensors;

    /// <summary>Binds <paramref name="adapter"/> to <paramref name="baseModel"/> (headers only; a misfit is refused here);
    /// both are owned and disposed with the store.</summary>
    /// <exception cref="InvalidAdapterException">The adapter does not fit the base.</exception>
    public LoraMergedStore(string reference, TensorStore baseModel, PeftAdapter adapter, DType? mergeDType) : base(reference)
    {
        _base = baseModel;
        _adapter = adapter;
        var bound = BoundAdapter.Bind(adapter, baseModel);
        foreach (var m in bound.Modules)
        {
            _modules[m.BaseWeight.Name] = m;
            if (m.BaseBias is not null) _biases[m.BaseBias.Name] = m;
        }
        foreach (var (target, tensor) in bound.Replacements) _replacements[target.Name] = tensor;
        _tensors = baseModel.Tensors
            .Select(t => mergeDType is { } d && t.DType.IsFloatingPoint() && IsChanged(t.Name) ? t with { DType = d } : t).ToArray();
    }

    /// <summary>Base tensors the adapter changes (LoRA modules, biases, saved modules).</summary>
    public int ChangedTensorCount => _modules.Count + _biases.Count + _replacements.Count;

    private bool IsChanged(string name) => _modules.ContainsKey(name) || _biases.ContainsKey(name) || _replacements.ContainsKey(name);

    public override CheckpointFormat Format => _base.Format;

    public override IReadOnlyList<TensorInfo> Tensors => _tensors;

    public override IReadOnlyDictionary<string, string> Metadata => _base.Metadata;

    protected override TensorBuffer ReadCore(TensorInfo info)
    {
        float[] values;
        if (_replacements.TryGetValue(info.Name, out var saved)) values = LoraMath.Read(_adapter.Store, saved);
        else if (_modules.TryGetValue(info.Name, out var module))
        {
            values = LoraMath.Read(_base, _base.GetInfo(info.Name));
            LoraMath.Merge(_adapter.Store, module, 1.0, values);
        }
        else if (_biases.TryGetValue(info.Name, out var withBias))
        {
            values = LoraMath.Read(_base, _base.GetInfo(info.Name));
            LoraMath.MergeBias(_adapter.Store, withBias, 1.0, values);
        }
        else return _base.Read(info.Name);
        var bytes = new byte[info.ByteCount];
        DTypeConversion.FromSingle(values, info.DType, bytes);
        return TensorBuffer.FromBytes(info, bytes);
    }

    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;
        _adapter.Dispose();
        _base.Dispose();
    }
}
