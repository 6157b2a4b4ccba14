using WeightSpace.Analysis.Alignment;
using static TorchSharp.torch;

namespace WeightSpace.Analysis.Connectivity;

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
            if (layer.Kind is NetworkLayerKind.Linear or NetworkLayerKind.Conv2d or NetworkLayerKind.BatchNorm && string.IsNullOrEmpty(layer.Name))
                throw new ArgumentException($"A {layer.Kind} layer needs a module name.", nameof(layers));
            if (layer.Kind == NetworkLayerKind.MaxPool2d && layer.Kernel < 1)
                throw new ArgumentException($"MaxPool2d kernel {layer.Kernel} must be at least 1.", nameof(layers));
        }
    }

    /// <summary>The layers, first to last.</summary>
    public IReadOnlyList<NetworkLayer> Layers { get; }

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

    /// <summary>The permutation spec of this chain (<see cref="PermutationSpec.Sequential"/> over its weighted layers).</summary>
    public PermutationSpec ToPermutationSpec(TensorStore store) =>
        PermutationSpec.Sequential(store, [.. Layers.Where(l => l.Name is not null).Select(l => l.Name!)]);

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
                case NetworkLayerKind.Linear:
                    x = nn.functional.linear(x, weights[layer.Name + ".weight"], Bias(weights, layer.Name!));
                    lastModule = layer.Name;
                    break;
                case NetworkLayerKind.Conv2d:
                    if (x.dim() == 3) x = x.unsqueeze(1);
                    x = nn.functional.conv2d(x, weights[layer.Name + ".weight"], Bias(weights, layer.Name!),
                        strides: [layer.Stride, layer.Stride], padding: [layer.Padding, layer.Padding]);
                    lastModule = layer.Name;
                    break;
                case NetworkLayerKind.BatchNorm:
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
                case NetworkLayerKind.Relu:
                    x = nn.functional.relu(x);
                    if (onActivation is not null && lastModule is not null) onActivation(lastModule, x);
                    break;
                case NetworkLayerKind.MaxPool2d:
                    x = nn.functional.max_pool2d(x, layer.Kernel, layer.Kernel);
                    break;
                case NetworkLayerKind.Flatten:
                    x = x.flatten(1);
                    break;
            }
        }
        return x;
    }

    private static Tensor? Bias(IReadOnlyDictionary<string, Tensor> weights, string name) =>
        weights.TryGetValue(name + ".bias", out var b) ? b : null;
}
