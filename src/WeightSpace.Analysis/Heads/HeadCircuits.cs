namespace WeightSpace.Analysis.Heads;

/// <summary>The two circuits of one attention head (Elhage et al. 2021, "A Mathematical Framework for Transformer
/// Circuits"): W_QK = W_Q,hᵀ W_K,h (the bilinear form scoring query against key) and W_OV = W_O,h W_V,h (what the head
/// writes for what it reads), both d_model × d_model of rank ≤ head_dim.</summary>
/// <param name="Layer">Block index.</param>
/// <param name="Head">Query head index.</param>
/// <param name="KeyValueHead">The key/value head it reads (h / (heads / kv heads)).</param>
/// <param name="QueryKey">Spectrum of W_QK.</param>
/// <param name="OutputValue">Spectrum of W_OV.</param>
/// <param name="QueryKeyChange">‖W_QK − W_QK,base‖_F / ‖W_QK,base‖_F against a baseline, or null.</param>
/// <param name="OutputValueChange">‖W_OV − W_OV,base‖_F / ‖W_OV,base‖_F against a baseline, or null.</param>
public sealed record HeadCircuits(int Layer, int Head, int KeyValueHead, CircuitSpectrum QueryKey, CircuitSpectrum OutputValue,
    double? QueryKeyChange = null, double? OutputValueChange = null)
{
    /// <summary>The larger of the two relative changes (how the heads are ranked by "changed most"), or null.</summary>
    public double? MaxChange => QueryKeyChange is double qk && OutputValueChange is double ov ? Math.Max(qk, ov) : null;
}
