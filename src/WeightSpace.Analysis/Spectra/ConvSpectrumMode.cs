namespace WeightSpace.Analysis.Spectra;

/// <summary>Which spectrum a convolution kernel stands for.</summary>
public enum ConvSpectrumMode
{
    /// <summary>WeightWatcher's: the kh·kw slices <c>W[:, :, i, j]</c> (each c_out × c_in) analysed as matrices,
    /// pooled into one ESD unless <see cref="SpectrumOptions.PoolConvSlices"/> is off.</summary>
    WeightWatcher,
    /// <summary>The singular values of the linear operator the convolution applies to an n×n input with circular
    /// padding (Sedghi, Gupta and Long 2019); σ_max is the layer's operator norm.</summary>
    Operator,
    /// <summary>The kernel unfolded to one c_out × (c_in·kh·kw) matrix (the im2col weight matrix, as
    /// <c>W.reshape(out, -1)</c> in PyTorch): the convention of many papers and of the shared data's
    /// <c>spectra.json</c>. No eigenvalue scaling.</summary>
    Unfolded,
}
