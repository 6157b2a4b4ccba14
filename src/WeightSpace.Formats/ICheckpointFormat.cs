namespace WeightSpace.Formats;

/// <summary>A checkpoint format that <see cref="Checkpoint"/> can recognise and open. The built-in ones are listed in
/// <see cref="Checkpoint.Formats"/>; callers can pass their own list to <see cref="Checkpoint.Open(string, CheckpointOptions?, IReadOnlyList{ICheckpointFormat}?)"/>.</summary>
public interface ICheckpointFormat
{
    /// <summary>Which format this is.</summary>
    CheckpointFormat Format { get; }

    /// <summary>Short name used in messages and JSON: <c>safetensors</c>, <c>pytorch</c>, <c>onnx</c>.</summary>
    string Name { get; }

    /// <summary>True if the first bytes of a file (up to 64, fewer if the file is shorter) look like this format.</summary>
    /// <param name="head">The first bytes of the file.</param>
    /// <param name="fileLength">The whole file's length in bytes.</param>
    bool LooksLike(ReadOnlySpan<byte> head, long fileLength);

    /// <summary>True if this format opens directories (sharded checkpoints) and <paramref name="directory"/> holds one.</summary>
    bool CanOpenDirectory(string directory);

    /// <summary>Opens <paramref name="path"/> lazily.</summary>
    /// <exception cref="InvalidCheckpointException">The file is malformed or hostile.</exception>
    TensorStore Open(string path, CheckpointOptions options);
}
