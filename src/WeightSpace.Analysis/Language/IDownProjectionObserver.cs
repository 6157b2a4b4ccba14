using static TorchSharp.torch;

namespace WeightSpace.Analysis.Language;

/// <summary>Receives each decoder layer's MLP down projection activations during a <see cref="CausalLanguageModel"/>
/// forward pass.</summary>
public interface IDownProjectionObserver
{
    /// <summary>Called once per layer and forward pass, in layer order.</summary>
    /// <param name="layer">The block index.</param>
    /// <param name="input">The down projection's input [rows, length, intermediate] (act(gate) · up), in the compute type.</param>
    /// <param name="output">Its output [rows, length, hidden], before the residual add.</param>
    /// <remarks>Both tensors belong to the forward pass and are freed after the layer: copy what you keep, never dispose them.</remarks>
    void Observe(int layer, Tensor input, Tensor output);
}
