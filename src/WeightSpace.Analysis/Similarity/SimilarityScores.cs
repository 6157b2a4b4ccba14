namespace WeightSpace.Analysis.Similarity;

/// <summary>How alike two representations of the same samples are.</summary>
/// <param name="Cka">Linear CKA (Kornblith et al. 2019), in [0, 1].</param>
/// <param name="Linearity">The linearity score of Razzhigaev et al. (2024): 1 − min_A ‖X̃A − Ỹ‖²_F over linear maps A,
/// with X̃, Ỹ centred and scaled to unit Frobenius norm; in [0, 1].</param>
/// <param name="Procrustes">Orthogonal-Procrustes similarity 1 − ½ min_{RᵀR=I} ‖X̃R − Ỹ‖²_F = ‖X̃ᵀỸ‖_* (nuclear norm),
/// in [0, 1]; null when the two widths differ.</param>
public sealed record SimilarityScores(double Cka, double Linearity, double? Procrustes);
