namespace WeightSpace.Analysis.Lora;

/// <summary>One module of a combined adapter.</summary>
/// <param name="Module">Module name.</param>
/// <param name="InputRank">Σ rᵢ over the adapters that change it: the rank of the exact sum is at most this.</param>
/// <param name="Rank">Rank written.</param>
/// <param name="DeltaNorm">‖Σ wᵢ·sᵢ·BᵢAᵢ‖_F.</param>
/// <param name="RelativeError">‖ΔW − B·A‖_F / ‖ΔW‖_F of the re-factorisation (0 when the rank suffices).</param>
public sealed record CombinedModule(string Module, int InputRank, int Rank, double DeltaNorm, double RelativeError);
