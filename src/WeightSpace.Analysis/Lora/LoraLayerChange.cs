namespace WeightSpace.Analysis.Lora;

/// <summary>An adapter's change to one decoder layer, over its adapted modules.</summary>
/// <param name="Layer">Layer index.</param>
/// <param name="DeltaNorm">√Σ‖ΔW‖²_F over the layer's modules.</param>
/// <param name="RelativeChange">√Σ‖ΔW‖² / √Σ‖W‖² over the same modules.</param>
/// <param name="Intruders">Intruder dimensions over the layer's modules.</param>
public sealed record LoraLayerChange(int Layer, double DeltaNorm, double RelativeChange, int Intruders);
