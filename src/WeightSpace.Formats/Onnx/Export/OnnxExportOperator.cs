namespace WeightSpace.Formats.Onnx.Export;

/// <summary>The layer kinds <see cref="OnnxExporter"/> writes, each as one standard ONNX operator (opset 13).</summary>
public enum OnnxExportOperator
{
    /// <summary><c>Gemm</c>(x, W, b, transB = 1) with <c>name.weight</c> [out, in] and optional <c>name.bias</c>.</summary>
    Linear,
    /// <summary><c>Conv</c> with <c>name.weight</c> [out, in, kh, kw], optional <c>name.bias</c>, square stride and padding.</summary>
    Conv2d,
    /// <summary><c>BatchNormalization</c> (inference, ε = 1e-5) with <c>name.weight</c>, <c>.bias</c>, <c>.running_mean</c>, <c>.running_var</c>.</summary>
    BatchNorm,
    /// <summary><c>Relu</c>.</summary>
    Relu,
    /// <summary><c>MaxPool</c> with a square window and an equal stride.</summary>
    MaxPool2d,
    /// <summary><c>Flatten</c>(axis = 1), C order like PyTorch's <c>flatten(1)</c>.</summary>
    Flatten,
}
