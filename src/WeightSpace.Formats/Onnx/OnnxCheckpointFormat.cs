namespace WeightSpace.Formats.Onnx;

/// <summary>Plugs ONNX into <see cref="Checkpoint"/>.</summary>
internal sealed class OnnxCheckpointFormat : ICheckpointFormat
{
    public CheckpointFormat Format => CheckpointFormat.Onnx;
    public string Name => "onnx";
    public bool LooksLike(ReadOnlySpan<byte> head, long fileLength) => OnnxReader.LooksLikeOnnx(head, fileLength);
    public bool CanOpenDirectory(string directory) => false;
    public TensorStore Open(string path, CheckpointOptions options) => OnnxReader.Open(path, options.Onnx);
}
