namespace WeightSpace.Formats.Safetensors;

/// <summary>Plugs safetensors (single files, shard directories and index files) into <see cref="Checkpoint"/>.</summary>
internal sealed class SafetensorsCheckpointFormat : ICheckpointFormat
{
    public CheckpointFormat Format => CheckpointFormat.Safetensors;
    public string Name => "safetensors";

    // An index file is JSON text, not a safetensors file; recognise it by its weight_map.
    public bool LooksLike(ReadOnlySpan<byte> head, long fileLength) =>
        SafetensorsReader.LooksLikeSafetensors(head, fileLength) || LooksLikeIndex(head);

    public bool CanOpenDirectory(string directory) =>
        File.Exists(Path.Combine(directory, "model.safetensors.index.json")) ||
        Directory.EnumerateFiles(directory, "*.safetensors").Any() ||
        Directory.EnumerateFiles(directory, "*.safetensors.index.json").Any();

    public TensorStore Open(string path, CheckpointOptions options) => SafetensorsReader.Open(path, options.Safetensors);

    private static bool LooksLikeIndex(ReadOnlySpan<byte> head)
    {
        var text = head.TrimStart(" \t\r\n\uFEFF"u8);   // the set holds the UTF-8 BOM bytes too
        return text.StartsWith("{"u8) && (head.IndexOf("\"weight_map\""u8) >= 0 || head.IndexOf("\"metadata\""u8) >= 0);
    }
}
