using System.Text.RegularExpressions;
using WeightSpace.Analysis.Tensors;
using static TorchSharp.torch;

namespace WeightSpace.Analysis.Evaluation;

/// <summary>Runs a multilayer perceptron stored as torch <c>nn.Linear</c> layers named <c>PREFIXN.weight</c> [out, in] and
/// <c>PREFIXN.bias</c> [out] (e.g. <c>fc1</c>, <c>fc2</c>, <c>fc3</c>), with ReLU between layers and none after the
/// last, and scores it on a labelled dataset.</summary>
public static class MlpClassifier
{
    /// <summary>Evaluates the MLP in <paramref name="weights"/> on <paramref name="data"/> in one float32 batch (TorchSharp, CPU).</summary>
    /// <param name="weights">A checkpoint whose float tensors include the Linear layers; other tensors are ignored.</param>
    /// <param name="data">Features of width equal to the first layer's input size; labels below the last layer's output size.</param>
    /// <param name="prefix">Layer name prefix before the number (<c>fc</c>).</param>
    /// <exception cref="InvalidCheckpointException">No <c>PREFIXN.weight</c> tensors, a missing bias, or shapes that do not chain.</exception>
    public static ClassificationScore Evaluate(TensorStore weights, ClassificationDataset data, string prefix = "fc")
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(data);
        var layers = Layers(weights, prefix);
        long width = data.FeatureCount;
        foreach (var (w, b) in layers)
        {
            if (w.Shape.Rank != 2 || w.Shape[1] != width)
                throw new InvalidCheckpointException(weights.Path, w.Name, $"shape {w.Shape} does not take {width} inputs");
            if (b.Shape.Rank != 1 || b.Shape[0] != w.Shape[0])
                throw new InvalidCheckpointException(weights.Path, b.Name, $"shape {b.Shape} does not match {w.Name} {w.Shape}");
            width = w.Shape[0];
        }
        int classes = (int)width;
        if (data.Labels.Any(l => l >= classes))
            throw new ArgumentException($"{data.Name}: labels reach {data.Labels.Max()} but the model has {classes} outputs.", nameof(data));

        using var scope = NewDisposeScope();
        var x = tensor(data.Features, [data.Count, data.FeatureCount]);
        for (int i = 0; i < layers.Count; i++)
        {
            using var wb = weights.Read(layers[i].Weight.Name);
            using var bb = weights.Read(layers[i].Bias.Name);
            var w = wb.ToTorch(ScalarType.Float32);
            var b = bb.ToTorch(ScalarType.Float32);
            x = nn.functional.linear(x, w, b);
            if (i < layers.Count - 1) x = nn.functional.relu(x);
        }
        var y = tensor(data.Labels.Select(l => (long)l).ToArray(), [data.Count]);
        double loss = nn.functional.cross_entropy(x, y).item<float>();
        long correct = x.argmax(1).eq(y).sum().item<long>();
        return new ClassificationScore(loss, data.Count == 0 ? 0 : correct / (double)data.Count, data.Count);
    }

    private static List<(TensorInfo Weight, TensorInfo Bias)> Layers(TensorStore weights, string prefix)
    {
        var pattern = new Regex($"^{Regex.Escape(prefix)}([0-9]+)\\.weight$", RegexOptions.CultureInvariant);
        var layers = weights.Tensors
            .Select(t => (Info: t, Match: pattern.Match(t.Name)))
            .Where(p => p.Match.Success)
            .OrderBy(p => int.Parse(p.Match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
            .Select(p =>
            {
                string bias = $"{prefix}{p.Match.Groups[1].Value}.bias";
                return weights.TryGetInfo(bias, out var b) ? (p.Info, b)
                    : throw new InvalidCheckpointException(weights.Path, bias, $"missing; {p.Info.Name} needs it");
            })
            .ToList();
        if (layers.Count == 0) throw new InvalidCheckpointException(weights.Path, null, $"no '{prefix}N.weight' tensors: not an MLP of Linear layers");
        return layers;
    }
}
