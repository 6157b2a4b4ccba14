namespace WeightSpace.Analysis.Neurons;

/// <summary>One neuron whose decoded tokens moved between the baseline and the model.</summary>
/// <param name="Tensor">The matrix.</param>
/// <param name="Layer">Its block index.</param>
/// <param name="Neuron">The neuron (column) index.</param>
/// <param name="TopKOverlap">|top-k ∩ baseline top-k| / k.</param>
/// <param name="LogitCosine">Cosine of the mean-centred logit vectors.</param>
/// <param name="TokenIds">The model's top tokens, best first.</param>
/// <param name="BaselineTokenIds">The baseline's top tokens.</param>
public sealed record NeuronChange(string Tensor, int? Layer, int Neuron, float TopKOverlap, float LogitCosine, int[] TokenIds, int[] BaselineTokenIds);
