using WeightSpace.Analysis.Datasets;
using static TorchSharp.torch;

namespace WeightSpace.Analysis.Evaluation;

/// <summary>Evaluates a <see cref="NetworkArchitecture"/> with TorchSharp on the CPU, in batches, without gradients.</summary>
public sealed class TorchModelEvaluator : IModelEvaluator, INormalizationReset
{
    /// <summary>Creates the evaluator.</summary>
    /// <param name="architecture">The network the weights belong to.</param>
    /// <param name="batchSize">Samples per forward pass; default 1000.</param>
    public TorchModelEvaluator(NetworkArchitecture architecture, int batchSize = 1000)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        Architecture = architecture;
        BatchSize = batchSize;
    }

    /// <summary>The network evaluated.</summary>
    public NetworkArchitecture Architecture { get; }

    /// <summary>Samples per forward pass.</summary>
    public int BatchSize { get; }

    /// <inheritdoc/>
    public ModelEvaluation Evaluate(TensorStore weights, Dataset data, CancellationToken cancellationToken = default)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var w = ToTensors(weights, data);
        double lossSum = 0;
        long correct = 0;
        for (int start = 0; start < data.Count; start += BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var batchScope = NewDisposeScope();
            int n = Math.Min(BatchSize, data.Count - start);
            var (x, y) = Batch(data, start, n);
            var logits = Architecture.Forward(w, x, NetworkArchitecture.BatchNormMode.Eval, null);
            lossSum += nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum).to_type(ScalarType.Float64).item<double>();
            correct += logits.argmax(1).eq(y).sum().item<long>();
        }
        return data.Count == 0 ? new ModelEvaluation(double.NaN, double.NaN, 0) : new ModelEvaluation(lossSum / data.Count, (double)correct / data.Count, data.Count);
    }

    /// <inheritdoc/>
    /// <remarks>One forward pass over all of <paramref name="data"/> (keep it to a few thousand samples).</remarks>
    public InMemoryTensorStore ResetNormalization(TensorStore weights, Dataset data, CancellationToken cancellationToken = default)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var w = ToTensors(weights, data);
        var (x, _) = Batch(data, 0, data.Count);
        Architecture.Forward(w, x, NetworkArchitecture.BatchNormMode.Recompute, null);
        return TorchWeights.ToStore(weights.Tensors.Select(t => new KeyValuePair<string, Tensor>(t.Name, w[t.Name])), weights.Path);
    }

    /// <summary>Features [n, …sample shape] as float32 and labels as int64, in the caller's scope.</summary>
    internal static (Tensor X, Tensor Y) Batch(Dataset data, int start, int count)
    {
        var shape = new long[data.SampleShape.Rank + 1];
        shape[0] = count;
        for (int k = 0; k < data.SampleShape.Rank; k++) shape[k + 1] = data.SampleShape[k];
        var x = tensor(data.Features.AsSpan(start * data.FeatureCount, count * data.FeatureCount).ToArray(), shape, ScalarType.Float32);
        var y = tensor(data.Labels.AsSpan(start, count).ToArray().Select(l => (long)l).ToArray(), [count], ScalarType.Int64);
        return (x, y);
    }

    // The weights as tensors in the caller's dispose scope, after checking both arguments.
    private static Dictionary<string, Tensor> ToTensors(TensorStore weights, Dataset data)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(data);
        return TorchWeights.ToTensors(weights);
    }
}
