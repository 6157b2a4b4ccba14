namespace WeightSpace.Analysis.Heads;

/// <summary>Which of a head's two circuits.</summary>
public enum HeadCircuit
{
    /// <summary>W_QK = W_Q,hᵀ W_K,g: x_queryᵀ W_QK x_key is the head's attention score (before scaling and rotary).</summary>
    QueryKey,
    /// <summary>W_OV = W_O,h W_V,g: what the head adds to the residual stream per unit of attention to a token.</summary>
    OutputValue,
}
