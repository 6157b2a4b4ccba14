using WeightSpace.Formats.Peft;

namespace WeightSpace.Analysis.Lora;

/// <summary>A base model with a PEFT adapter merged in on read: every tensor is the one <c>lora apply BASE ADAPTER</c>
/// writes (W + s·B·A, PEFT's DoRA and <c>lora_B.bias</c> merges, modules_to_save replacements), in the base's dtype,
/// computed when read, one tensor at a time. So any per-tensor analysis (<c>diff BASE ADAPTER</c>) sees the adapter as
/// a fine-tune of its base without a merged copy on disk.</summary>
public sealed class AdaptedTensorStore : TensorStore
{
    private readonly TensorStore _base;
    private readonly PeftAdapter _adapter;
    private readonly Dictionary<string, BoundModule> _weights = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BoundModule> _biases = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorInfo> _replacements = new(StringComparer.Ordinal);

    private AdaptedTensorStore(TensorStore baseModel, PeftAdapter adapter, BoundAdapter bound) : base(adapter.Path)
    {
        _base = baseModel;
        _adapter = adapter;
        foreach (var m in bound.Modules)
        {
            _weights[m.BaseWeight.Name] = m;
            if (m.BaseBias is { } bias) _biases[bias.Name] = m;
        }
        foreach (var (target, tensor) in bound.Replacements) _replacements[target.Name] = tensor;
    }

    /// <summary>Opens the adapter folder <paramref name="adapterPath"/> and binds it to <paramref name="baseModel"/>
    /// (which stays the caller's to dispose). The store's path is the adapter's.</summary>
    /// <exception cref="InvalidAdapterException">The adapter is invalid or does not fit the base (checked from headers, before any work).</exception>
    public static AdaptedTensorStore Open(TensorStore baseModel, string adapterPath)
    {
        ArgumentNullException.ThrowIfNull(baseModel);
        var adapter = PeftAdapter.Open(adapterPath);
        try { return new AdaptedTensorStore(baseModel, adapter, BoundAdapter.Bind(adapter, baseModel)); }
        catch { adapter.Dispose(); throw; }
    }

    /// <summary>True when <paramref name="path"/> is a PEFT adapter folder (it has <c>adapter_config.json</c>).</summary>
    public static bool IsAdapterFolder(string path) => Directory.Exists(path) && File.Exists(System.IO.Path.Combine(path, PeftAdapter.ConfigFileName));

    /// <summary>How many base tensors the adapter changes.</summary>
    public int ChangedTensorCount => _weights.Count + _biases.Count + _replacements.Count;

    /// <inheritdoc/>
    public override CheckpointFormat Format => _base.Format;

    /// <inheritdoc/>
    public override IReadOnlyList<TensorInfo> Tensors => _base.Tensors;

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> Metadata => _base.Metadata;

    /// <inheritdoc/>
    protected override TensorBuffer ReadCore(TensorInfo info)
    {
        float[] values;
        if (_replacements.TryGetValue(info.Name, out var replacement)) values = LoraMath.Read(_adapter.Store, replacement);
        else if (_weights.TryGetValue(info.Name, out var module))
        {
            values = LoraMath.Read(_base, info);
            LoraMath.Merge(_adapter.Store, module, 1, values);
        }
        else if (_biases.TryGetValue(info.Name, out module))
        {
            values = LoraMath.Read(_base, info);
            LoraMath.MergeBias(_adapter.Store, module, 1, values);
        }
        else return _base.Read(info.Name);
        var bytes = new byte[checked(values.LongLength * info.DType.SizeInBytes())];
        DTypeConversion.FromSingle(values, info.DType, bytes);
        return TensorBuffer.FromBytes(info, bytes);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing) _adapter.Dispose();
        base.Dispose(disposing);
    }
}
