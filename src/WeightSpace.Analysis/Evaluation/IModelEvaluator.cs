using WeightSpace.Analysis.Datasets;

namespace WeightSpace.Analysis.Evaluation;

/// <summary>Runs a fixed architecture with given weights on a labelled dataset. Implementations: a TorchSharp network
/// (<see cref="TorchModelEvaluator"/>); an ONNX Runtime session fed weights as overridable initializers.</summary>
public interface IModelEvaluator
{
    /// <summary>Mean cross-entropy and accuracy of the model with <paramref name="weights"/> on <paramref name="data"/>.</summary>
    ModelEvaluation Evaluate(TensorStore weights, Dataset data, CancellationToken cancellationToken = default);
}
