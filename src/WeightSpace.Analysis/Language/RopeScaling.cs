namespace WeightSpace.Analysis.Language;

/// <summary>The <c>rope_scaling</c> entry of a config: how rotary frequencies are stretched for longer contexts.</summary>
/// <param name="Type"><c>linear</c> (positions divided by <paramref name="Factor"/>) or <c>llama3</c>.</param>
/// <param name="Factor">The scale factor (≥ 1).</param>
/// <param name="LowFrequencyFactor">llama3 only: <c>low_freq_factor</c>.</param>
/// <param name="HighFrequencyFactor">llama3 only: <c>high_freq_factor</c>.</param>
/// <param name="OriginalMaxPositionEmbeddings">llama3 only: <c>original_max_position_embeddings</c>.</param>
public sealed record RopeScaling(string Type, double Factor, double LowFrequencyFactor = 1, double HighFrequencyFactor = 4, int OriginalMaxPositionEmbeddings = 8192)
{
    /// <summary>The rotary inverse frequencies θ^(−2i/d), i = 0 … d/2 − 1, then scaled, all in float32 with the
    /// operations of Hugging Face's <c>_compute_default_rope_parameters</c>, <c>_compute_linear_scaling_rope_parameters</c>
    /// and <c>_compute_llama3_parameters</c> (modeling_rope_utils.py), so the rounding is the same.</summary>
    /// <param name="theta"><c>rope_theta</c>.</param>
    /// <param name="headDim">The rotated dimension (even).</param>
    /// <param name="scaling">The scaling, or null for none.</param>
    public static float[] InverseFrequencies(double theta, int headDim, RopeScaling? scaling)
    {
        int half = headDim / 2;
        var inv = new float[half];
        float thetaF = (float)theta;
        for (int i = 0; i < half; i++)
        {
            // torch: base ** (arange(0, dim, 2).float() / dim), then 1.0 / that, each step in float32.
            float exponent = (float)(2 * i) / headDim;
            inv[i] = 1.0f / MathF.Pow(thetaF, exponent);
        }
        if (scaling is null) return inv;
        float factor = (float)scaling.Factor;
        if (scaling.Type == "linear")
        {
            for (int i = 0; i < half; i++) inv[i] /= factor;
            return inv;
        }
        // llama3: long wavelengths are divided by the factor, short ones kept, the band between interpolated.
        float oldContext = scaling.OriginalMaxPositionEmbeddings;
        float low = (float)scaling.LowFrequencyFactor, high = (float)scaling.HighFrequencyFactor;
        float lowWavelength = oldContext / low, highWavelength = oldContext / high;
        for (int i = 0; i < half; i++)
        {
            float wavelength = 2 * MathF.PI / inv[i];
            float scaled = wavelength > lowWavelength ? inv[i] / factor : inv[i];
            bool medium = !(wavelength < highWavelength) && !(wavelength > lowWavelength);
            if (medium)
            {
                float smooth = (oldContext / wavelength - low) / (high - low);
                scaled = (1 - smooth) * scaled / factor + smooth * scaled;
            }
            inv[i] = scaled;
        }
        return inv;
    }
}
