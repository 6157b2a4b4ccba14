namespace WeightSpace.Analysis.Lora;

/// <summary>What <c>LoraApplication.Write</c> did.</summary>
/// <param name="Files">Files written, relative to the output directory.</param>
/// <param name="ModulesMerged">LoRA modules merged, over all adapters.</param>
/// <param name="TensorsReplaced">Base tensors replaced by an adapter's saved tensor (modules_to_save, biases).</param>
/// <param name="TensorsCopied">Base tensors written unchanged (converted when a dtype was asked for).</param>
public sealed record LoraApplyResult(IReadOnlyList<string> Files, int ModulesMerged, int TensorsReplaced, int TensorsCopied)
{
    /// <summary>What the output lacks that a user would expect (a GGUF base's tokenizer that could not be mapped to
    /// tokenizer.json), one line each.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}
