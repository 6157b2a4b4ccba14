namespace WeightSpace.Analysis.Language;

/// <summary>The score of one text under one model.</summary>
/// <param name="Text">The text's file (or label).</param>
/// <param name="Bytes">Bytes in the text.</param>
/// <param name="Tokens">Tokens the text encodes to.</param>
/// <param name="Windows">Windows evaluated.</param>
/// <param name="Predictions">Predictions scored (tokens predicted from at least one token of context).</param>
/// <param name="ScoredBytes">Bytes of text the scored tokens stand for.</param>
/// <param name="NllSum">Sum of −log p over the scored predictions, in nats (float32 terms summed in float64).</param>
/// <param name="WindowNllSums">Per window, the sum of its scored NLLs, in nats.</param>
/// <param name="Seconds">Wall-clock seconds of the forward passes.</param>
/// <param name="TokensProcessed">Tokens fed through the model (window tokens, context included).</param>
public sealed record TextScore(
    string Text, long Bytes, long Tokens, int Windows, long Predictions, long ScoredBytes, double NllSum,
    double[] WindowNllSums, double Seconds, long TokensProcessed)
{
    /// <summary>Mean negative log-likelihood per scored token, nats.</summary>
    public double NllPerToken => NllSum / Predictions;
    /// <summary>Mean negative log-likelihood per byte of the scored tokens, nats.</summary>
    public double NllPerByte => NllSum / ScoredBytes;
    /// <summary>Token-level perplexity exp(<see cref="NllPerToken"/>).</summary>
    public double Perplexity => Math.Exp(NllPerToken);
    /// <summary>Bits per byte, <see cref="NllPerByte"/> / ln 2.</summary>
    public double BitsPerByte => NllPerByte / Math.Log(2);
    /// <summary>Tokens fed through the model per second.</summary>
    public double TokensPerSecond => Seconds > 0 ? TokensProcessed / Seconds : double.NaN;
}
