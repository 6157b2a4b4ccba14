using WeightSpace.Formats.Peft;

namespace WeightSpace.Analysis.Lora;

/// <summary>A PEFT adapter checked against a base model: every LoRA module found in the base with matching shapes, every
/// whole tensor (modules_to_save, biases) matched to a base tensor of the same shape. Building it reads headers only, so
/// an adapter that does not fit is refused before any work.</summary>
public sealed class BoundAdapter
{
    private BoundAdapter(PeftAdapter adapter, IReadOnlyList<BoundModule> modules, IReadOnlyList<KeyValuePair<TensorInfo, TensorInfo>> replacements)
    {
        Adapter = adapter;
        Modules = modules;
        Replacements = replacements;
    }

    /// <summary>The adapter.</summary>
    public PeftAdapter Adapter { get; }

    /// <summary>LoRA modules, in adapter order.</summary>
    public IReadOnlyList<BoundModule> Modules { get; }

    /// <summary>Base tensor → the adapter's tensor that replaces it.</summary>
    public IReadOnlyList<KeyValuePair<TensorInfo, TensorInfo>> Replacements { get; }

    /// <summary>Matches <paramref name="adapter"/> to <paramref name="baseModel"/>.</summary>
    /// <remarks>A PEFT module name is looked up in the base as <c>NAME.weight</c>, then with a leading <c>model.</c>
    /// added or removed (adapters saved from a bare model or a task head). The base weight must be [out, in] = [B rows,
    /// A columns] ([in, out] with <c>fan_in_fan_out</c>; [num_embeddings, dim] for an embedding).</remarks>
    /// <exception cref="InvalidAdapterException">A module or saved tensor is missing from the base, or a shape disagrees;
    /// the message names the module and both shapes.</exception>
    public static BoundAdapter Bind(PeftAdapter adapter, TensorStore baseModel)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        ArgumentNullException.ThrowIfNull(baseModel);
        var modules = new List<BoundModule>();
        foreach (var m in adapter.Modules)
        {
            string subject = $"module '{m.Module}'";
            var weight = Find(baseModel, m.Module + ".weight")
                ?? throw new InvalidAdapterException(adapter.Path, subject, $"not in the base model {baseModel.Path} (no tensor '{m.Module}.weight')");
            bool transposed = m.IsEmbedding || adapter.Config.FanInFanOut;
            long[] expected = transposed ? [m.Columns, m.Rows] : [m.Rows, m.Columns];
            if (weight.Shape.Rank != 2 || weight.Shape[0] != expected[0] || weight.Shape[1] != expected[1])
                throw new InvalidAdapterException(adapter.Path, subject,
                    $"base weight '{weight.Name}' is {weight.Shape} but lora_A {m.A.Shape} and lora_B {m.B.Shape} need [{expected[0]}, {expected[1]}]"
                    + (adapter.Config.FanInFanOut ? " (fan_in_fan_out)" : m.IsEmbedding ? " (embedding)" : ""));
            if (!weight.DType.IsFloatingPoint())
                throw new InvalidAdapterException(adapter.Path, subject, $"base weight '{weight.Name}' has dtype {weight.DType.ToSafetensorsName()}, not floating point");
            TensorInfo? bias = null;
            if (m.BBias is not null)
            {
                string biasName = weight.Name[..^".weight".Length] + ".bias";
                bias = baseModel.TryGetInfo(biasName, out var b) ? b : throw new InvalidAdapterException(adapter.Path, subject, $"has lora_B.bias but the base has no '{biasName}'");
                if (bias.Shape.Rank != 1 || bias.Shape[0] != m.Rows)
                    throw new InvalidAdapterException(adapter.Path, subject, $"base bias '{biasName}' is {bias.Shape} but lora_B bias is {m.BBias.Shape}");
            }
            modules.Add(new BoundModule(m, weight, bias, transposed));
        }
        var replaced = new List<KeyValuePair<TensorInfo, TensorInfo>>();
        foreach (var (name, info) in adapter.FullTensors)
        {
            var target = Find(baseModel, name)
                ?? throw new InvalidAdapterException(adapter.Path, $"tensor '{info.Name}'", $"replaces '{name}', which is not in the base model {baseModel.Path}");
            if (target.Shape != info.Shape)
                throw new InvalidAdapterException(adapter.Path, $"tensor '{info.Name}'", $"is {info.Shape} but the base's '{target.Name}' is {target.Shape}");
            if (modules.Any(m => m.BaseWeight.Name == target.Name))
                throw new InvalidAdapterException(adapter.Path, $"tensor '{info.Name}'", $"replaces '{target.Name}', which LoRA factors also change");
            replaced.Add(new(target, info));
        }
        return new BoundAdapter(adapter, modules, replaced);
    }

    private static TensorInfo? Find(TensorStore store, string name)
    {
        if (store.TryGetInfo(name, out var info)) return info;
        if (store.TryGetInfo("model." + name, out info)) return info;
        if (name.StartsWith("model.", StringComparison.Ordinal) && store.TryGetInfo(name["model.".Length..], out info)) return info;
        return null;
    }
}
