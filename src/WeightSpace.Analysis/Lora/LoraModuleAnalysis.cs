using WeightSpace.Analysis.Spectra;

namespace WeightSpace.Analysis.Lora;

/// <summary>What an adapter does to one module of its base.</summary>
/// <param name="Module">Module name.</param>
/// <param name="Layer">Decoder layer index (from <c>layers.N.</c> / <c>h.N.</c>), or null outside the layers.</param>
/// <param name="Rank">r.</param>
/// <param name="Scale">s.</param>
/// <param name="DeltaNorm">‖ΔW‖_F, ΔW = s·B·A.</param>
/// <param name="BaseNorm">‖W‖_F of the base weight.</param>
/// <param name="RelativeChange">‖ΔW‖_F / ‖W‖_F.</param>
/// <param name="EffectiveRank">Roy and Vetterli's effective rank of ΔW (≤ r).</param>
/// <param name="SingularValues">ΔW's r singular values, descending.</param>
/// <param name="Intruders">Top singular vectors of W + ΔW that no base singular vector resembles (|cos| &lt; threshold).</param>
public sealed record LoraModuleAnalysis(string Module, int? Layer, int Rank, double Scale, double DeltaNorm, double BaseNorm, double RelativeChange,
    double EffectiveRank, IReadOnlyList<double> SingularValues, IReadOnlyList<IntruderDimension> Intruders);
