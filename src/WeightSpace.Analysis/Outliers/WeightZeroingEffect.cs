namespace WeightSpace.Analysis.Outliers;

/// <summary>What zeroing one weight does to a text's score.</summary>
/// <param name="Label">Which weight (<c>super weight</c>, <c>top outlier</c>).</param>
/// <param name="Tensor">The tensor.</param>
/// <param name="Row">Its row.</param>
/// <param name="Column">Its column.</param>
/// <param name="Value">The weight that was zeroed.</param>
/// <param name="Text">The text file.</param>
/// <param name="BitsPerByte">Bits per byte with the original weights.</param>
/// <param name="ZeroedBitsPerByte">Bits per byte with the weight zeroed.</param>
/// <param name="Perplexity">Token perplexity with the original weights.</param>
/// <param name="ZeroedPerplexity">Token perplexity with the weight zeroed.</param>
public sealed record WeightZeroingEffect(string Label, string Tensor, long Row, long Column, float Value, string Text,
    double BitsPerByte, double ZeroedBitsPerByte, double Perplexity, double ZeroedPerplexity);
