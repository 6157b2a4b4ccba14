namespace WeightSpace.Analysis.Spectra;

/// <summary>A leading singular vector of the fine-tuned matrix that no leading singular vector of the base resembles
/// (Shuttleworth et al. 2024, <see href="https://arxiv.org/abs/2410.21228"/>).</summary>
/// <param name="Index">Rank of the vector in the fine-tuned matrix (0 = largest σ).</param>
/// <param name="SingularValue">Its singular value σ.</param>
/// <param name="MaxCosine">Largest |cos| between it and the base's compared singular vectors.</param>
public sealed record IntruderDimension(int Index, double SingularValue, double MaxCosine);
