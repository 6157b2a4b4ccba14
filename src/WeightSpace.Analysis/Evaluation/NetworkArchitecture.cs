using WeightSpace.Formats.Onnx.Export;
using static TorchSharp.torch;

namespace WeightSpace.Analysis.Evaluation;

/// <summary>A feed-forward network (MLP or VGG-style CNN) as a chain of <see cref="NetworkLayer"/>s whose weights come
/// from a name → tensor map, so the same description runs any checkpoint, any interpolation and any permutation.</summary>
public sealed class NetworkArchitecture
{
    /// <summary>Creates an architecture from its layers, first to last.</summary>
    /// <exception cref="ArgumentException">A weighted layer has no name, or a pooling has a kernel below 1.</exception>
    public NetworkArchitecture(IEnumerable<NetworkLayer> layers)
    {
        Layers = [.. layers];
        foreach (var layer in Layers)
        {
            if (layer.Kind is OnnxExportOperator.Linear or OnnxExportOperator.Conv2d or OnnxExportOperator.BatchNorm && string.IsNullOrEmpty(layer.Name))
                throw new ArgumentException($"A {layer.Kind} layer needs a module name.", nameof(layers));
            if (layer.Kind == OnnxExportOperator.MaxPool2d && layer.Kernel < 1)
                throw new ArgumentException($"MaxPool2d kernel {layer.Kernel} must be at least 1.", nameof(layers));
        }
    }

    /// <summary>The layers, first to last.</summary>
    public IReadOnlyList<NetworkLayer> Layers { get; }

    /// <summary>The names <see cref="FromName"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["mlp", "cnn"];

    /// <summary>A built-in architecture by name (<c>mlp</c>: <see cref="Mlp(TensorStore)"/>, <c>cnn</c>:
    /// <see cref="Cnn"/>), read from <paramref name="store"/>'s tensor names.</summary>
    /// <exception cref="ArgumentException">Not one of <see cref="Names"/>.</exception>
    /// <exception cref="InvalidCheckpointException">The checkpoint's tensors do not form that architecture.</exception>
    public static NetworkArchitecture FromName(string name, TensorStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        try
        {
            return name switch
            {
                "mlp" => Mlp(store),
                "cnn" => Cnn(store),
                _ => throw new ArgumentException($"'{name}' is not one of {string.Join(", ", Names)}", nameof(name)),
            };
        }
        catch (ArgumentException e) when (e.ParamName != nameof(name))
        {
            throw new InvalidCheckpointException(store.Path, null, $"not a {name}: {e.Message}", e);
        }
    }

    /// <summary>An MLP: Flatten, then Linear and ReLU alternating, ending with a Linear (logits).</summary>
    public static NetworkArchitecture Mlp(IEnumerable<string> linearLayers)
    {
        var names = linearLayers.ToList();
        var layers = new List<NetworkLayer> { NetworkLayer.Flatten() };
        for (int i = 0; i < names.Count; i++)
        {
            layers.Add(NetworkLayer.Linear(names[i]));
            if (i < names.Count - 1) layers.Add(NetworkLayer.Relu());
        }
        return new NetworkArchitecture(layers);
    }

    /// <summary>The MLP formed by every rank-2 <c>X.weight</c> of <paramref name="store"/> in natural name order.</summary>
    public static NetworkArchitecture Mlp(TensorStore store) =>
        Mlp(store.Tensors.Where(t => t.Name.EndsWith(".weight", StringComparison.Ordinal) && t.Shape.Rank == 2)
            .Select(t => t.Name[..^".weight".Length]).Order(NaturalOrder.Instance));

    /// <summary>The small VGG-style CNN of <c>tools/WeightSpace.Train</c> read from a checkpoint's names: in natural name
    /// order, every module with a rank-4 weight is a Conv2d (stride 1, padding kernel/2) followed by its BatchNorm if
    /// the next module has a <c>running_mean</c>, then ReLU and 2×2 max pooling; then Flatten; then every module with a
    /// rank-2 weight is a Linear, with ReLU between them.</summary>
    /// <exception cref="ArgumentException">The store has no convolution or no Linear layer after them.</exception>
    public static NetworkArchitecture Cnn(TensorStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        var modules = store.Tensors.Where(t => t.Name.EndsWith(".weight", StringComparison.Ordinal))
            .Select(t => (Name: t.Name[..^".weight".Length], t.Shape)).OrderBy(m => m.Name, NaturalOrder.Instance).ToList();
        var layers = new List<NetworkLayer>();
        int i = 0;
        for (; i < modules.Count && modules[i].Shape.Rank == 4; i++)
        {
            layers.Add(NetworkLayer.Conv2d(modules[i].Name, padding: (int)(modules[i].Shape[2] / 2)));
            if (i + 1 < modules.Count && modules[i + 1].Shape.Rank == 1 && store.Contains(modules[i + 1].Name + ".running_mean"))
                layers.Add(NetworkLayer.BatchNorm(modules[++i].Name));
            layers.Add(NetworkLayer.Relu());
            layers.Add(NetworkLayer.MaxPool2d(2));
        }
        var linear = modules.Skip(i).ToList();
        if (layers.Count == 0 || linear.Count == 0 || linear.Any(m => m.Shape.Rank != 2))
            throw new ArgumentException($"{store.Path} is not a Conv…Conv, Linear…Linear chain (rank-4 weights, then rank-2 weights, in name order).", nameof(store));
        layers.Add(NetworkLayer.Flatten());
        for (int k = 0; k < linear.Count; k++)
        {
            layers.Add(NetworkLayer.Linear(linear[k].Name));
            if (k < linear.Count - 1) layers.Add(NetworkLayer.Relu());
        }
        return new NetworkArchitecture(layers);
    }

    /// <summary>The same chain as layer descriptions for <see cref="WeightSpace.Formats.Onnx.Export.OnnxExporter"/>.</summary>
    public IReadOnlyList<OnnxExportLayer> ToOnnxLayers() =>
        [.. Layers.Select(l => new OnnxExportLayer(l.Kind, l.Name, l.Kernel, l.Stride, l.Padding))];

    /// <summary>Module names of the weighted layers, in order.</summary>
    public IEnumerable<string> ModuleNames => Layers.Where(l => l.Name is not null).Select(l => l.Name!);

    /// <summary>Runs the network on <paramref name="input"/> ([N, …]; a 3-D input to a Conv2d gets a channel axis).</summary>
    /// <param name="weights">Tensor name → tensor (float32, same device as the input).</param>
    /// <param name="input">The batch.</param>
    /// <param name="training">BatchNorm uses batch statistics and updates the running statistics in place (momentum 0.1).</param>
    /// <returns>The logits, a new tensor in the caller's dispose scope.</returns>
    /// <exception cref="KeyNotFoundException">A layer's weight tensor is missing.</exception>
    public Tensor Forward(IReadOnlyDictionary<string, Tensor> weights, Tensor input, bool training = false) =>
        Forward(weights, input, training ? BatchNormMode.Train : BatchNormMode.Eval, null);

    internal enum BatchNormMode { Eval, Train, Recompute }

    /// <summary>The forward pass; <paramref name="onActivation"/> sees each ReLU output with the module that produced
    /// its units. In Recompute mode each BatchNorm's running statistics are overwritten with the statistics of this batch.</summary>
    internal Tensor Forward(IReadOnlyDictionary<string, Tensor> weights, Tensor input, BatchNormMode mode, Action<string, Tensor>? onActivation)
    {
        var x = input;
        string? lastModule = null;
        foreach (var layer in Layers)
        {
            switch (layer.Kind)
            {
                case OnnxExportOperator.Linear:
                    x = nn.functional.linear(x, weights[layer.Name + ".weight"], Bias(weights, layer.Name!));
                    lastModule = layer.Name;
                    break;
                case OnnxExportOperator.Conv2d:
                    if (x.dim() == 3) x = x.unsqueeze(1);
                    x = nn.functional.conv2d(x, weights[layer.Name + ".weight"], Bias(weights, layer.Name!),
                        strides: [layer.Stride, layer.Stride], padding: [layer.Padding, layer.Padding]);
                    lastModule = layer.Name;
                    break;
                case OnnxExportOperator.BatchNorm:
                {
                    var mean = weights[layer.Name + ".running_mean"];
                    var variance = weights[layer.Name + ".running_var"];
                    if (mode == BatchNormMode.Recompute)
                    {
                        // Per-channel statistics over batch and space, unbiased variance as PyTorch stores it.
                        var dims = x.dim() == 4 ? new long[] { 0, 2, 3 } : [0];
                        using (no_grad())
                        {
                            mean.copy_(x.mean(dims));
                            variance.copy_(x.var(dims, unbiased: true));
                        }
                    }
                    x = nn.functional.batch_norm(x, mean, variance, weights[layer.Name + ".weight"], Bias(weights, layer.Name!),
                        training: mode == BatchNormMode.Train, momentum: 0.1, eps: 1e-5);
                    break;
                }
                case OnnxExportOperator.Relu:
                    x = nn.functional.relu(x);
                    if (onActivation is not null && lastModule is not null) onActivation(lastModule, x);
                    break;
                case OnnxExportOperator.MaxPool2d:
                    x = nn.functional.max_pool2d(x, layer.Kernel, layer.Kernel);
                    break;
                case OnnxExportOperator.Flatten:
                    x = x.flatten(1);
                    break;
            }
        }
        return x;
    }

    private static Tensor? Bias(IReadOnlyDictionary<string, Tensor> weights, string name) =>
        weights.TryGetValue(name + ".bias", out var b) ? b : null;
}
