using WeightSpace.Formats.Peft;

namespace WeightSpace.Analysis.Lora;

/// <summary>A LoRA module of an adapter matched to the base tensor it changes, shapes checked.</summary>
/// <param name="Lora">The adapter's module.</param>
/// <param name="BaseWeight">The base tensor ΔW is added to (<c>MODULE.weight</c>).</param>
/// <param name="BaseBias">The base bias <c>lora_B.bias</c> is added to, when the adapter has one.</param>
/// <param name="Transposed">True when the base stores the weight as (B·A)ᵀ: embeddings and <c>fan_in_fan_out</c> layers.</param>
public sealed record BoundModule(PeftModule Lora, TensorInfo BaseWeight, TensorInfo? BaseBias, bool Transposed);
