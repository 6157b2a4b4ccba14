using WeightSpace.Formats.Peft;

namespace WeightSpace.Analysis.Lora;

/// <summary>A base model with a PEFT adapter merged in on read: every tensor is the one <c>lora apply BASE ADAPTER</c>
/// writes (W + s·B·A, PEFT's DoRA and <c>lora_B.bias</c> merges, modules_to_save replacements), in the base's dtype,
/// computed when read, one tensor at a time. So any per-tensor analysis (<c>diff BASE ADAPTER</c>) sees the adapter as
/// a fine-tune of its base without a merged copy on disk. A merge config's <c>MODEL+ADAPTER</c> input is the same store
/// (mergekit merges the LoRA into the model before merging, in the model's dtype or <c>--lora-merge-dtype</c>).</summary>
public sealed class AdaptedTensorStore : TensorStore
{
    private readonly TensorStore _base;
    private readonly PeftAdapter _adapter;
    private readonly Dictionary<string, BoundModule> _weights = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BoundModule> _biases = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorInfo> _replacements = new(StringComparer.Ordinal);
    private readonly TensorInfo[] _tensors;
    private readonly bool _ownsBase;

    private AdaptedTensorStore(string path, TensorStore baseModel, PeftAdapter adapter, BoundAdapter bound, DType? changedDType, bool ownsBase)
        : base(path)
    {
        _base = baseModel;
        _adapter = adapter;
        _ownsBase = ownsBase;
        foreach (var m in bound.Modules)
        {
            _weights[m.BaseWeight.Name] = m;
            if (m.BaseBias is { } bias) _biases[bias.Name] = m;
        }
        foreach (var (target, tensor) in bound.Replacements) _replacements[target.Name] = tensor;
        // A changed tensor of a block-quantised base (GGUF Q8_0, …) is float32 unless a dtype is asked for: W + s·B·A is
        // not re-quantised on read, as lora apply writes it in float32.
        _tensors = baseModel.Tensors
            .Select(t => !IsChanged(t.Name) ? t
                : changedDType is { } d && (t.DType.IsFloatingPoint() || t.DType.IsBlockQuantized()) ? t with { DType = d }
                : t.DType.IsBlockQuantized() ? t with { DType = DType.F32 } : t).ToArray();
    }

    /// <summary>Binds an opened <paramref name="adapter"/> to <paramref name="baseModel"/>; the store owns the adapter,
    /// and the base when <paramref name="ownsBase"/>.</summary>
    /// <param name="path">The store's path (a merge config's <c>MODEL+ADAPTER</c> reference, say).</param>
    /// <param name="baseModel">The base.</param>
    /// <param name="adapter">The adapter.</param>
    /// <param name="changedDType">The dtype of the tensors the adapter changes (mergekit's <c>--lora-merge-dtype</c>);
    /// null keeps the base's.</param>
    /// <param name="ownsBase">Dispose the base with the store.</param>
    /// <exception cref="InvalidAdapterException">The adapter does not fit the base (checked from headers, before any work).</exception>
    public static AdaptedTensorStore Create(string path, TensorStore baseModel, PeftAdapter adapter, DType? changedDType, bool ownsBase)
    {
        ArgumentNullException.ThrowIfNull(baseModel);
        ArgumentNullException.ThrowIfNull(adapter);
        return new AdaptedTensorStore(path, baseModel, adapter, BoundAdapter.Bind(adapter, baseModel), changedDType, ownsBase);
    }

    private bool IsChanged(string name) => _weights.ContainsKey(name) || _biases.ContainsKey(name) || _replacements.ContainsKey(name);

    /// <summary>Opens the adapter folder <paramref name="adapterPath"/> and binds it to <paramref name="baseModel"/>
    /// (which stays the caller's to dispose). The store's path is the adapter's.</summary>
    /// <param name="baseModel">The base.</param>
    /// <param name="adapterPath">The PEFT adapter folder.</param>
    /// <param name="changedDType">The dtype of the tensors the adapter changes; null keeps the base's.</param>
    /// <exception cref="InvalidAdapterException">The adapter is invalid or does not fit the base (checked from headers, before any work).</exception>
    public static AdaptedTensorStore Open(TensorStore baseModel, string adapterPath, DType? changedDType = null)
    {
        ArgumentNullException.ThrowIfNull(baseModel);
        var adapter = PeftAdapter.Open(Local(adapterPath));
        try { return new AdaptedTensorStore(adapter.Path, baseModel, adapter, BoundAdapter.Bind(adapter, baseModel), changedDType, ownsBase: false); }
        catch { adapter.Dispose(); throw; }
    }

    /// <summary>True when <paramref name="path"/> is a PEFT adapter folder (it has <c>adapter_config.json</c>), given as a
    /// path or as a hub id cached locally.</summary>
    public static bool IsAdapterFolder(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string local;
        try { local = Local(path); }
        catch (Exception e) when (e is WeightSpaceException or FileNotFoundException) { return false; }
        return Directory.Exists(local) && File.Exists(System.IO.Path.Combine(local, PeftAdapter.ConfigFileName));
    }

    // A hub id is its snapshot folder in the local Hugging Face cache; a path is itself.
    private static string Local(string path) =>
        File.Exists(path) || Directory.Exists(path) || !WeightSpace.Formats.Hub.HuggingFaceCache.LooksLikeRepoId(path) ? path : Checkpoint.ResolveLocal(path);

    /// <summary>How many base tensors the adapter changes.</summary>
    public int ChangedTensorCount => _weights.Count + _biases.Count + _replacements.Count;

    /// <inheritdoc/>
    public override CheckpointFormat Format => _base.Format;

    /// <inheritdoc/>
    public override IReadOnlyList<TensorInfo> Tensors => _tensors;

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> Metadata => _base.Metadata;

    /// <inheritdoc/>
    protected override TensorBuffer ReadCore(TensorInfo info)
    {
        float[] values;
        if (_replacements.TryGetValue(info.Name, out var replacement)) values = LoraMath.Read(_adapter.Store, replacement);
        else if (_weights.TryGetValue(info.Name, out var module))
        {
            values = LoraMath.Read(_base, _base.GetInfo(info.Name));
            LoraMath.Merge(_adapter.Store, module, 1, values);
        }
        else if (_biases.TryGetValue(info.Name, out module))
        {
            values = LoraMath.Read(_base, _base.GetInfo(info.Name));
            LoraMath.MergeBias(_adapter.Store, module, 1, values);
        }
        else return _base.Read(info.Name);
        var bytes = new byte[info.ByteCount];
        DTypeConversion.FromSingle(values, info.DType, bytes);
        return TensorBuffer.FromBytes(info, bytes);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _adapter.Dispose();
            if (_ownsBase) _base.Dispose();
        }
        base.Dispose(disposing);
    }
}
