namespace WeightSpace.Analysis.Lora;

/// <summary>An outlier weight (a super-weight candidate) whose value the extracted adapter does not reproduce: base +
/// B·A at that coordinate differs from the fine-tuned value by more than <see cref="LoraExtraction.OutlierTolerance"/>.</summary>
/// <param name="Module">The module (base name).</param>
/// <param name="Row">Row of W (output feature).</param>
/// <param name="Column">Column of W (input feature).</param>
/// <param name="BaseValue">W_base at the coordinate.</param>
/// <param name="FineTunedValue">W_ft at the coordinate (what the adapter should give).</param>
/// <param name="ExtractedValue">W_base + (B·A) at the coordinate, with the factors as written.</param>
/// <param name="RatioToRms">|w| / RMS of its matrix, for the model where the weight stands out most.</param>
public sealed record LoraOutlierChange(string Module, long Row, long Column, double BaseValue, double FineTunedValue, double ExtractedValue, double RatioToRms)
{
    /// <inheritdoc/>
    public override string ToString() => FormattableString.Invariant(
        $"lora extract: the rank truncation changes outlier {Module}.weight[{Row}, {Column}] ({RatioToRms:G3} × RMS): the fine-tune has {FineTunedValue:G6}, base + B·A gives {ExtractedValue:G6} (base {BaseValue:G6}); a higher --rank (or --save-module) keeps it");
}
