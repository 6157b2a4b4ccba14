using WeightSpace.Formats.Onnx;

namespace WeightSpace.Formats;

public sealed partial record CheckpointOptions
{
    /// <summary>Limits for ONNX models.</summary>
    public OnnxOptions Onnx { get; init; } = new();
}
