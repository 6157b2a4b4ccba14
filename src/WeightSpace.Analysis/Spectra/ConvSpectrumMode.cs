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
}
