namespace WeightSpace;

/// <summary>The on-disk format of a checkpoint.</summary>
public enum CheckpointFormat
{
    /// <summary>safetensors: one file, or shards with a <c>model.safetensors.index.json</c>.</summary>
    Safetensors,
    /// <summary>PyTorch <c>torch.save</c>: the zip format or the legacy pickle stream.</summary>
    PyTorch,
    /// <summary>ONNX ModelProto: initializers and Constant nodes, possibly with external data.</summary>
    Onnx,
    /// <summary>GGUF (llama.cpp, versions 2 and 3): one file of metadata and possibly block-quantised tensors.</summary>
    Gguf,
}
