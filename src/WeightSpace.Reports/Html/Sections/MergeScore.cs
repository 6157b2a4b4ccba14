namespace WeightSpace.Reports.Html.Sections;

/// <summary>One merged (or reference) model's scores on several held-out test sets.</summary>
/// <param name="Method">Merge method name (mergekit's), or a label such as "base" for reference models.</param>
/// <param name="Parameters">The parameters used, as text (e.g. "density 0.5, λ 1").</param>
/// <param name="Accuracy">Accuracy on each test set, in the order of the section's test-set names.</param>
/// <param name="IsReference">True for the inputs (base and fine-tunes) shown for comparison.</param>
public sealed record MergeScore(string Method, string Parameters, IReadOnlyList<double> Accuracy, bool IsReference = false)
{
    /// <summary>Mean accuracy over the test sets.</summary>
    public double MeanAccuracy => Accuracy.Count == 0 ? 0 : Accuracy.Average();
}
