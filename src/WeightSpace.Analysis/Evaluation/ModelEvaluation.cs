namespace WeightSpace.Analysis.Evaluation;

/// <summary>A model's mean cross-entropy and accuracy on a dataset.</summary>
/// <param name="Loss">Mean cross-entropy of the logits against the labels (natural log).</param>
/// <param name="Accuracy">Fraction of samples whose arg-max logit is the label.</param>
/// <param name="Count">Samples evaluated.</param>
public sealed record ModelEvaluation(
    double Loss,
    double Accuracy,
    int Count);
