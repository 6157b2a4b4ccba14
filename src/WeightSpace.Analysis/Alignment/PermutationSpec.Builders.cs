using WeightSpace.Formats.Onnx;
using WeightSpace.Analysis.Evaluation;

namespace WeightSpace.Analysis.Alignment;

public sealed partial class PermutationSpec
{
    private static readonly string[] NormTensors = ["weight", "bias", "running_mean", "running_var"];

    /// <summary>The spec of an MLP: every <c>X.weight</c> of rank 2 is a Linear layer, taken in natural name order
    /// (<c>fc1</c>, <c>fc2</c>, … or <c>layers.0</c>, <c>layers.2</c>, …). Hidden layer k's output units form group
    /// <c>P_X</c>, acting on <c>X.weight</c> axis 0, <c>X.bias</c> and the next layer's weight axis 1.</summary>
    /// <exception cref="InvalidPermutationSpecException">Fewer than two Linear layers.</exception>
    public static PermutationSpec Mlp(TensorStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        var layers = store.Tensors.Where(t => t.Name.EndsWith(".weight", StringComparison.Ordinal) && t.Shape.Rank == 2)
            .Select(t => t.Name[..^".weight".Length]).Order(NaturalOrder.Instance).ToList();
        if (layers.Count < 2)
            throw new InvalidPermutationSpecException($"mlp spec of {store.Path}", $"found {layers.Count} Linear layers (X.weight of rank 2); an MLP needs at least 2");
        return Sequential(store, layers);
    }

    /// <summary>The spec of a plain feed-forward network (MLP or VGG-style CNN): a chain of layers in
    /// <paramref name="layerOrder"/> (default: every module with a <c>.weight</c>, natural name order). A layer whose
    /// weight has rank ≥ 2 (Linear, Conv) opens a new group <c>P_X</c> for its output units, except the last one; a
    /// layer with a rank-1 weight (BatchNorm, LayerNorm) is permuted by the group of the layer before it
    /// (weight, bias, running_mean, running_var). Each Linear/Conv's axis 1 takes the previous group; a Linear after a
    /// flattened C×H×W map is handled by block permutation.</summary>
    /// <exception cref="InvalidPermutationSpecException">A listed layer has no weight, or a norm layer comes first.</exception>
    public static PermutationSpec Sequential(TensorStore store, IReadOnlyList<string>? layerOrder = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        string source = $"sequential spec of {store.Path}";
        var layers = layerOrder ?? store.Tensors.Where(t => t.Name.EndsWith(".weight", StringComparison.Ordinal))
            .Select(t => t.Name[..^".weight".Length]).Order(NaturalOrder.Instance).ToList();
        int lastWeightLayer = -1;
        for (int i = 0; i < layers.Count; i++)
        {
            if (!store.TryGetInfo(layers[i] + ".weight", out var w))
                throw new InvalidPermutationSpecException(source, $"layer '{layers[i]}' has no tensor '{layers[i]}.weight'");
            if (w.Shape.Rank >= 2) lastWeightLayer = i;
        }
        var axes = new List<KeyValuePair<string, IReadOnlyList<string?>>>();
        string? current = null;
        for (int i = 0; i < layers.Count; i++)
        {
            string layer = layers[i];
            var w = store.GetInfo(layer + ".weight");
            if (w.Shape.Rank == 1)
            {
                if (current is null) throw new InvalidPermutationSpecException(source, $"norm layer '{layer}' has no Linear/Conv layer before it");
                foreach (string t in NormTensors)
                    if (store.Contains($"{layer}.{t}")) axes.Add(new($"{layer}.{t}", [current]));
                continue;
            }
            string? output = i == lastWeightLayer ? null : "P_" + layer;
            var weightAxes = new string?[w.Shape.Rank];
            weightAxes[0] = output;
            weightAxes[1] = current;
            axes.Add(new(layer + ".weight", weightAxes));
            if (store.Contains(layer + ".bias")) axes.Add(new(layer + ".bias", [output]));
            current = output;
        }
        return new PermutationSpec(axes, source);
    }

    /// <summary>The spec of a ResNet in torchvision naming: stem <c>conv1</c>/<c>bn1</c>, blocks
    /// <c>layerS.B.convK</c> with norm <c>bnK</c> (or <c>lnK</c>, <c>normK</c>), optional
    /// <c>layerS.B.downsample.0</c> (conv) and <c>.1</c> (norm), and head <c>fc</c>. The residual stream is one group
    /// per stage (<c>P_stem</c>, then <c>P_layerS</c> from each stage that has a downsample): every block's last conv and
    /// norm write it and every block's first conv and the head read it, because the skip connections add units
    /// position by position. Inner block units get their own group <c>P_layerS.B.convK</c>.</summary>
    /// <exception cref="InvalidPermutationSpecException">The store does not follow the naming.</exception>
    public static PermutationSpec ResNet(TensorStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        string source = $"resnet spec of {store.Path}";
        var axes = new List<KeyValuePair<string, IReadOnlyList<string?>>>();
        if (!store.TryGetInfo("conv1.weight", out var stem) || stem.Shape.Rank < 2)
            throw new InvalidPermutationSpecException(source, "no stem convolution 'conv1.weight'");
        string stream = "P_stem";
        AddWeight(store, axes, "conv1", stream, null);
        AddNorm(store, axes, FindNorm(store, "", 1), stream);

        var blocks = store.Tensors.Select(t => t.Name)
            .Where(n => n.StartsWith("layer", StringComparison.Ordinal) && n.EndsWith(".conv1.weight", StringComparison.Ordinal))
            .Select(n => n[..^".conv1.weight".Length]).Order(NaturalOrder.Instance).ToList();
        if (blocks.Count == 0) throw new InvalidPermutationSpecException(source, "no residual blocks 'layerS.B.conv1.weight'");
        foreach (string block in blocks)
        {
            string stage = block[..block.IndexOf('.')];
            string input = stream;
            if (store.Contains(block + ".downsample.0.weight"))
            {
                stream = "P_" + stage;
                AddWeight(store, axes, block + ".downsample.0", stream, input);
                AddNorm(store, axes, store.Contains(block + ".downsample.1.weight") ? block + ".downsample.1" : null, stream);
            }
            int convs = 1;
            while (store.Contains($"{block}.conv{convs + 1}.weight")) convs++;
            string previous = input;
            for (int k = 1; k <= convs; k++)
            {
                string output = k == convs ? stream : $"P_{block}.conv{k}";
                AddWeight(store, axes, $"{block}.conv{k}", output, previous);
                AddNorm(store, axes, FindNorm(store, block + ".", k), output);
                previous = output;
            }
        }
        if (!store.TryGetInfo("fc.weight", out _)) throw new InvalidPermutationSpecException(source, "no head 'fc.weight'");
        AddWeight(store, axes, "fc", null, stream);
        return new PermutationSpec(axes, source);
    }

    private static string? FindNorm(TensorStore store, string prefix, int k)
    {
        foreach (string name in new[] { "bn", "ln", "norm" })
            if (store.Contains($"{prefix}{name}{k}.weight")) return $"{prefix}{name}{k}";
        return null;
    }

    private static void AddWeight(TensorStore store, List<KeyValuePair<string, IReadOnlyList<string?>>> axes, string layer, string? output, string? input)
    {
        var w = store.GetInfo(layer + ".weight");
        var a = new string?[w.Shape.Rank];
        a[0] = output;
        if (a.Length > 1) a[1] = input;
        axes.Add(new(layer + ".weight", a));
        if (store.Contains(layer + ".bias")) axes.Add(new(layer + ".bias", [output]));
    }

    private static void AddNorm(TensorStore store, List<KeyValuePair<string, IReadOnlyList<string?>>> axes, string? norm, string group)
    {
        if (norm is null) return;
        foreach (string t in NormTensors)
            if (store.Contains($"{norm}.{t}")) axes.Add(new($"{norm}.{t}", [group]));
    }

    /// <summary>The sequential spec of a built-in architecture: one group per hidden layer of its weighted modules, in
    /// forward order (what <see cref="ActivationMatching"/> needs).</summary>
    /// <param name="architecture">The network, read from <paramref name="store"/>'s tensor names.</param>
    /// <param name="store">The checkpoint whose tensors the spec names.</param>
    public static PermutationSpec FromArchitecture(NetworkArchitecture architecture, TensorStore store)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        return Sequential(store, [.. architecture.ModuleNames]);
    }

    /// <summary>The names <see cref="Resolve"/> accepts besides a <c>.json</c> spec file.</summary>
    public static IReadOnlyList<string> Names { get; } = ["auto", "mlp", "resnet", "sequential"];

    /// <summary>The spec named <paramref name="spec"/> for checkpoint <paramref name="a"/>: <c>auto</c> (from the ONNX
    /// graph of <paramref name="onnxModelPath"/>, else of <paramref name="a"/> if it is ONNX, else from
    /// <paramref name="architecture"/>), <c>mlp</c>, <c>resnet</c>, <c>sequential</c>, or a path to a JSON spec file.</summary>
    /// <exception cref="InvalidPermutationSpecException">The name is unknown, or <c>auto</c> has nothing to derive the
    /// spec from, or the spec does not fit the checkpoint.</exception>
    public static PermutationSpec Resolve(string spec, TensorStore a, string? onnxModelPath = null, NetworkArchitecture? architecture = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        switch (spec)
        {
            case "auto":
                if (onnxModelPath is not null)
                {
                    using var model = OnnxReader.Open(onnxModelPath);
                    return FromOnnx(model);
                }
                if (a is OnnxModel onnx) return FromOnnx(onnx);
                if (architecture is not null) return FromArchitecture(architecture, a);
                throw new InvalidPermutationSpecException(a.Path, "an automatic spec needs an ONNX export of the architecture (or a built-in architecture) when the checkpoint is not ONNX");
            case "mlp": return Mlp(a);
            case "resnet": return ResNet(a);
            case "sequential": return Sequential(a);
        }
        if (spec.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) return Load(spec);
        throw new InvalidPermutationSpecException(spec, $"not one of {string.Join(", ", Names)}, or a .json spec file");
    }
}
