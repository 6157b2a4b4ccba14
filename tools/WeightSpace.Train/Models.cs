using WeightSpace.Analysis.Connectivity;
using WeightSpace.Analysis.Evaluation;
using static TorchSharp.torch;

namespace WeightSpace.Train;

/// <summary>The reference architectures and their PyTorch-default initialisation, with module names that sort in
/// module order (<c>layers.N</c>) so the natural-order spec builders find the chain.</summary>
internal sealed record ModelDefinition(string Name, NetworkArchitecture Architecture, IReadOnlyList<(string Name, long[] Shape, string Init)> Parameters)
{
    /// <summary>MLP 784 → width × depth → 10 with ReLU.</summary>
    public static ModelDefinition Mlp(int width, int depth)
    {
        var names = new List<string>();
        var parameters = new List<(string, long[], string)>();
        long fanIn = 28 * 28;
        for (int i = 0; i <= depth; i++)
        {
            string name = $"layers.{i}";
            long outFeatures = i == depth ? 10 : width;
            names.Add(name);
            parameters.Add(($"{name}.weight", [outFeatures, fanIn], "fan_in"));
            parameters.Add(($"{name}.bias", [outFeatures], "fan_in"));
            fanIn = outFeatures;
        }
        return new ModelDefinition($"mlp{depth}x{width}", NetworkArchitecture.Mlp(names), parameters);
    }

    /// <summary>Conv(1→c1,3×3,pad 1) [BN] ReLU MaxPool2 → Conv(c1→c2) [BN] ReLU MaxPool2 → Flatten → Linear(c2·49→hidden) ReLU → Linear(→10).</summary>
    public static ModelDefinition Cnn(bool batchNorm, int c1 = 16, int c2 = 32, int hidden = 128)
    {
        var layers = new List<NetworkLayer>();
        var parameters = new List<(string, long[], string)>();
        int index = 0;
        string Next() => $"layers.{index++}";
        void Conv(long cin, long cout)
        {
            string conv = Next();
            layers.Add(NetworkLayer.Conv2d(conv, padding: 1));
            parameters.Add(($"{conv}.weight", [cout, cin, 3, 3], "fan_in"));
            parameters.Add(($"{conv}.bias", [cout], "fan_in"));
            if (batchNorm)
            {
                string bn = Next();
                layers.Add(NetworkLayer.BatchNorm(bn));
                parameters.Add(($"{bn}.weight", [cout], "one"));
                parameters.Add(($"{bn}.bias", [cout], "zero"));
                parameters.Add(($"{bn}.running_mean", [cout], "zero"));
                parameters.Add(($"{bn}.running_var", [cout], "one"));
            }
            layers.Add(NetworkLayer.Relu());
            layers.Add(NetworkLayer.MaxPool2d(2));
        }
        Conv(1, c1);
        Conv(c1, c2);
        layers.Add(NetworkLayer.Flatten());
        string fc1 = Next(), fc2 = Next();
        layers.Add(NetworkLayer.Linear(fc1));
        layers.Add(NetworkLayer.Relu());
        layers.Add(NetworkLayer.Linear(fc2));
        parameters.Add(($"{fc1}.weight", [hidden, c2 * 49], "fan_in"));
        parameters.Add(($"{fc1}.bias", [hidden], "fan_in"));
        parameters.Add(($"{fc2}.weight", [10, hidden], "fan_in"));
        parameters.Add(($"{fc2}.bias", [10], "fan_in"));
        return new ModelDefinition(batchNorm ? "cnn_bn" : "cnn", new NetworkArchitecture(layers), parameters);
    }

    public bool IsConvolutional => Architecture.Layers.Any(l => l.Kind == WeightSpace.Formats.Onnx.Export.OnnxExportOperator.Conv2d);

    /// <summary>PyTorch's default init: U(−1/√fan_in, 1/√fan_in) for weight and bias of Linear/Conv (the
    /// kaiming_uniform_(a=√5) bound), ones/zeros for BatchNorm. Draws in parameter order from torch's global generator.</summary>
    public Dictionary<string, Tensor> Initialize()
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        long lastFanIn = 1;
        foreach (var (name, shape, init) in Parameters)
        {
            if (name.EndsWith(".weight") && shape.Length >= 2) lastFanIn = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
            var t = init switch
            {
                "fan_in" => (rand(shape) * 2 - 1) * (1.0 / Math.Sqrt(lastFanIn)),
                "one" => ones(shape),
                _ => zeros(shape),
            };
            bool buffer = name.EndsWith("running_mean") || name.EndsWith("running_var");
            result[name] = buffer ? t.detach().MoveToOuterDisposeScope() : new TorchSharp.Modules.Parameter(t.detach(), true);
        }
        return result;
    }
}
