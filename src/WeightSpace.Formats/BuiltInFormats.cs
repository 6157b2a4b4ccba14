using WeightSpace.Formats.Gguf;
using WeightSpace.Formats.Onnx;
using WeightSpace.Formats.PyTorch;
using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Formats;

/// <summary>The explicit list of formats WeightSpace reads (no reflection, no registration side effects). ONNX is
/// tried last: its sniff (protobuf field tags of a ModelProto) is the least specific.</summary>
internal static class BuiltInFormats
{
    public static IReadOnlyList<ICheckpointFormat> All { get; } =
    [
        new SafetensorsCheckpointFormat(),
        new PyTorchCheckpointFormat(),
        new GgufCheckpointFormat(),
        new OnnxCheckpointFormat(),
    ];
}
