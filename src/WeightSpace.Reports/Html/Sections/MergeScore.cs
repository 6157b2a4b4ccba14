namespace WeightSpace.Reports.Html.Sections;

/// <summary>One merged (or reference) model's scores on several held-out test sets.</summary>
/// <param name="Method">Merge method name (mergekit's), or a label such as "base" for reference models.</param>
/// <param name="Parameters">The parameters used, as text (e.g. "density 0.5, λ 1").</param>
/// <param name="Values">The score on each test set (in the section's <see cref="MergeMetric"/>), in the order of the
/// section's test-set names.</param>
/// <param name="IsReference">True for the inputs (base and fine-tunes) shown for comparison.</param>
public sealed record MergeScore(string Method, string Parameters, IReadOnlyList<double> Values, bool IsReference = false)
{
    /// <summary>Mean score over the test sets.</summary>
    public double Mean => Values.Count == 0 ? 0 : Values.Average();
}

/// <summary>What the scores of a <see cref="MergeSection"/> measure, and which way is better.</summary>
/// <param name="Name">Column and axis name, e.g. "accuracy".</param>
/// <param name="HigherIsBetter">True for accuracy, false for losses such as bits per byte.</param>
/// <param name="AxisMaximum">A fixed top of the bar chart's axis (1.05 for accuracy), or null to fit the data.</param>
public sealed record MergeMetric(string Name, bool HigherIsBetter, double? AxisMaximum = null)
{
    /// <summary>Held-out classification accuracy (0…1).</summary>
    public static MergeMetric Accuracy { get; } = new("accuracy", true, 1.05);

    /// <summary>Bits per byte of a language model on a text (lower is better; see docs/evaluation.md).</summary>
    public static MergeMetric BitsPerByte { get; } = new("bits/byte", false);

    /// <summary>Whether <paramref name="a"/> is a better score than <paramref name="b"/>.</summary>
    public bool IsBetter(double a, double b) => HigherIsBetter ? a > b : a < b;

    /// <summary>A score as text: a percentage for accuracy, four decimals otherwise.</summary>
    public string Format(double value) => AxisMaximum is 1.05
        ? value.ToString("P1", System.Globalization.CultureInfo.InvariantCulture)
        : value.ToString("F4", System.Globalization.CultureInfo.InvariantCulture);
}
