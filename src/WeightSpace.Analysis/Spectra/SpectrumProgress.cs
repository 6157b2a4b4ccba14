namespace WeightSpace.Analysis.Spectra;

/// <summary>Progress of an analysis: reported after each tensor (largest tensors first, so not in checkpoint order).</summary>
/// <param name="Done">Tensors finished.</param>
/// <param name="Total">Tensors in the checkpoint.</param>
/// <param name="Name">The tensor just finished.</param>
public readonly record struct SpectrumProgress(int Done, int Total, string Name)
{
    /// <summary>The tensor's result came from <see cref="SpectrumOptions.CacheDirectory"/>.</summary>
    public bool FromCache { get; init; }

    /// <summary>The tensor was analysed (status ok), not skipped or failed.</summary>
    public bool Analysed { get; init; }
}
