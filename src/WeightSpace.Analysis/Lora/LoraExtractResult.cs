namespace WeightSpace.Analysis.Lora;

/// <summary>What <see cref="LoraExtraction"/> wrote and everything it did not decompose, each with the reason.</summary>
/// <param name="Modules">LoRA modules written.</param>
/// <param name="SavedInFull">Tensors written whole (modules_to_save or trained biases): name → reason.</param>
/// <param name="NotWritten">Changed tensors not in the adapter (excluded, skipped, non-float, shape changed, only in one model): name → reason.</param>
/// <param name="Unchanged">Tensors identical in both models.</param>
/// <param name="Files">Files written.</param>
public sealed record LoraExtractResult(IReadOnlyList<ExtractedModule> Modules, IReadOnlyDictionary<string, string> SavedInFull,
    IReadOnlyDictionary<string, string> NotWritten, int Unchanged, IReadOnlyList<string> Files);
