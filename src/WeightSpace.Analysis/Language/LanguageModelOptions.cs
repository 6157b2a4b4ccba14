namespace WeightSpace.Analysis.Language;

/// <summary>How the TorchSharp forward pass computes.</summary>
public sealed record LanguageModelOptions
{
    /// <summary>Compute in float64 instead of float32 (Hugging Face's default). Rotary angles stay float32 either way,
    /// as Hugging Face computes them.</summary>
    public bool Float64 { get; init; }

    /// <summary>TorchSharp intra-op threads during a forward pass (restored afterwards); null keeps the process setting.</summary>
    public int? TorchThreads { get; init; }
}
