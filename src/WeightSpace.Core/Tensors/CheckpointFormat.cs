namespace WeightSpace;

/// <summary>The on-disk format of a checkpoint, identified by its name (lower case, as JSON output shows it). The
/// built-in formats are the static members; a format added outside WeightSpace (an <c>ICheckpointFormat</c> of its
/// own) names itself with <see cref="CheckpointFormat(string)"/> — Core needs no change for it.</summary>
/// <param name="Name">The format's name: lower-case letters, digits and '-'.</param>
public sealed record CheckpointFormat(string Name)
{
    /// <summary>safetensors: one file, or shards with a <c>model.safetensors.index.json</c>.</summary>
    public static CheckpointFormat Safetensors { get; } = new("safetensors");

    /// <summary>PyTorch <c>torch.save</c>: the zip format or the legacy pickle stream.</summary>
    public static CheckpointFormat PyTorch { get; } = new("pytorch");

    /// <summary>ONNX ModelProto: initializers and Constant nodes, possibly with external data.</summary>
    public static CheckpointFormat Onnx { get; } = new("onnx");

    /// <summary>GGUF (llama.cpp, versions 2 and 3): one file of metadata and possibly block-quantised tensors.</summary>
    public static CheckpointFormat Gguf { get; } = new("gguf");

    /// <summary>The format's name.</summary>
    public string Name { get; } = Valid(Name);

    /// <inheritdoc/>
    public override string ToString() => Name;

    private static string Valid(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            throw new ArgumentException($"format name '{name}' must be lower-case letters, digits and '-'", nameof(name));
        return name;
    }
}
