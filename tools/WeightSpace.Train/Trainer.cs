using System.Diagnostics;
using WeightSpace.Analysis.Connectivity;
using WeightSpace.Analysis.Datasets;
using WeightSpace.Analysis.Evaluation;
using static TorchSharp.torch;

namespace WeightSpace.Train;

/// <summary>Deterministic training: torch.manual_seed(seed) for the init, System.Random(seed) for the per-epoch
/// shuffle, fixed thread count, deterministic algorithms, Adam.</summary>
internal static class Trainer
{
    public static InMemoryTensorStore Train(ModelDefinition model, Dataset train, int seed, int epochs, int batchSize, double learningRate, TextWriter log)
    {
        manual_seed(seed);
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var weights = model.Initialize();
        var optimizer = optim.Adam(weights.Values.OfType<TorchSharp.Modules.Parameter>().ToList(), learningRate);
        var rng = new Random(seed);
        var order = Enumerable.Range(0, train.Count).ToArray();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            rng.Shuffle(order);
            double lossSum = 0;
            int batches = 0;
            for (int start = 0; start + batchSize <= train.Count; start += batchSize)
            {
                using var step = NewDisposeScope();
                var batch = train.Select(order.AsSpan(start, batchSize));
                var (x, y) = Tensors(batch);
                optimizer.zero_grad();
                var loss = nn.functional.cross_entropy(model.Architecture.Forward(weights, x, training: true), y);
                loss.backward();
                optimizer.step();
                lossSum += loss.item<float>();
                batches++;
            }
            log.WriteLine($"  {model.Name} seed {seed} epoch {epoch + 1}/{epochs}: train loss {lossSum / batches:F4} ({clock.Elapsed.TotalSeconds:F0} s)");
        }
        return TorchWeights.ToStore(weights, $"{model.Name}_seed{seed}");
    }

    private static (Tensor X, Tensor Y) Tensors(Dataset batch)
    {
        var shape = new long[batch.SampleShape.Rank + 1];
        shape[0] = batch.Count;
        for (int i = 0; i < batch.SampleShape.Rank; i++) shape[i + 1] = batch.SampleShape[i];
        return (tensor(batch.Features, shape), tensor(batch.Labels.Select(l => (long)l).ToArray()));
    }
}
