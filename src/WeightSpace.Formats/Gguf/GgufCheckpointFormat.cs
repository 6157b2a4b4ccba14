namespace WeightSpace.Formats.Gguf;

/// <summary>Plugs GGUF into <see cref="Checkpoint"/>: recognised by its magic.</summary>
internal sealed class GgufCheckpointFormat : ICheckpointFormat
{
    public CheckpointFormat Format => CheckpointFormat.Gguf;
    public string Name => "gguf";
    public bool LooksLike(ReadOnlySpan<byte> head, long fileLength) => GgufHeader.HasMagic(head);
    public bool CanOpenDirectory(string directory) => false;
    public TensorStore Open(string path, CheckpointOptions options) => GgufReader.Open(path, options.Gguf);
}
