namespace WeightSpace.Analysis.Language;

/// <summary>The score of one text under one model.</summary>
public sealed record TextScore
{
    /// <summary>The text's file (or label).</summary>
    public required string Text { get; init; }
    /// <summary>Bytes in the text.</summary>
    public required long Bytes { get; init; }
    /// <summary>Tokens the text encodes to.</summary>
    public required long Tokens { get; init; }
    /// <summary>Windows evaluated.</summary>
    public required int Windows { get; init; }
    /// <summary>Predictions scored (tokens predicted from at least one token of context).</summary>
    public required long Predictions { get; init; }
    /// <summary>Bytes of text the scored tokens stand for.</summary>
    public required long ScoredBytes { get; init; }
    /// <summary>Sum of −log p over the scored predictions, in nats (float32 terms summed in float64).</summary>
    public required double NllSum { get; init; }
    /// <summary>Per window, the sum of its scored NLLs, in nats.</summary>
    public required double[] WindowNllSums { get; init; }
    /// <summary>Wall-clock seconds of the forward passes.</summary>
    public required double Seconds { get; init; }
    /// <summary>Tokens fed through the model (window tokens, context included).</summary>
    public required long TokensProcessed { get; init; }

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
