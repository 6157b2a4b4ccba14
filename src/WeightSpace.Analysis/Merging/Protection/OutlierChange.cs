using System.Text.Json.Serialization;

namespace WeightSpace.Analysis.Merging.Protection;

/// <summary>An outlier weight of a merge input whose merged value the trim changed.</summary>
/// <param name="Tensor">Output tensor name.</param>
/// <param name="Row">Row (output channel).</param>
/// <param name="Column">Column (input channel).</param>
/// <param name="Model">The input in which the weight stands out most (largest |w| / RMS): the base or a merged model.</param>
/// <param name="OutlierValue">The weight in <paramref name="Model"/>.</param>
/// <param name="RatioToRms">|<paramref name="OutlierValue"/>| / RMS of its matrix in <paramref name="Model"/>.</param>
/// <param name="BaseValue">The base model's value there, or null for a merge without a base.</param>
/// <param name="UntrimmedValue">What the method gives at this coordinate with no trim (density 1, no outlier drop).</param>
/// <param name="MergedValue">What the method computed with the trim.</param>
/// <param name="Protected">True if <see cref="UntrimmedValue"/> was written instead of <see cref="MergedValue"/> (serialized
/// after <see cref="WrittenValue"/>, the value it chose: <c>merge --json</c>'s order).</param>
public sealed record OutlierChange(string Tensor, long Row, long Column, string Model, float OutlierValue, double RatioToRms,
    float? BaseValue, float UntrimmedValue, float MergedValue, [property: JsonPropertyOrder(1)] bool Protected)
{
    /// <summary>The value in the output file.</summary>
    public float WrittenValue => Protected ? UntrimmedValue : MergedValue;
}
