namespace WeightSpace.Analysis.Outliers;

/// <summary>One large-magnitude weight of a matrix.</summary>
/// <param name="Tensor">The tensor's name.</param>
/// <param name="Layer">Its block index, or null outside the blocks.</param>
/// <param name="Row">Row (output channel, first index) of the weight.</param>
/// <param name="Column">Column (input channel, last index); 0 for 1-D tensors.</param>
/// <param name="Value">The weight, widened to float32.</param>
/// <param name="RatioToRms">|value| / RMS of the whole matrix.</param>
public sealed record WeightOutlier(string Tensor, int? Layer, long Row, long Column, float Value, double RatioToRms);
