namespace WeightSpace.Analysis.Evaluation;

/// <summary>How a classifier did on a dataset.</summary>
/// <param name="Loss">Mean cross-entropy of the softmax over the logits (natural log), as torch's <c>F.cross_entropy</c>.</param>
/// <param name="Accuracy">Fraction of rows whose largest logit is the label (the first on ties, as torch's argmax).</param>
/// <param name="Count">Rows evaluated.</param>
public readonly record struct ClassificationScore(double Loss, double Accuracy, int Count);
