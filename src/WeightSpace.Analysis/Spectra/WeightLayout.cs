namespace WeightSpace.Analysis.Spectra;

/// <summary>How a checkpoint lays out dense and convolution weights.</summary>
public enum WeightLayout
{
    /// <summary>PyTorch and ONNX: dense <c>[out, in]</c>, conv1d <c>[out, in, k]</c>, conv2d <c>[out, in, kh, kw]</c>.</summary>
    Torch,
    /// <summary>TensorFlow, Keras and tfjs: dense <c>[in, out]</c>, conv1d <c>[k, in, out]</c>, conv2d <c>[kh, kw, in, out]</c>.</summary>
    TensorFlow,
}
