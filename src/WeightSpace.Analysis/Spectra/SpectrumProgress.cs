namespace WeightSpace.Analysis.Spectra;

/// <summary>Progress of an analysis: reported after each tensor.</summary>
/// <param name="Done">Tensors finished.</param>
/// <param name="Total">Tensors in the checkpoint.</param>
/// <param name="Name">The tensor just finished.</param>
public readonly record struct SpectrumProgress(int Done, int Total, string Name);
