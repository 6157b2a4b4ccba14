namespace WeightSpace.Formats.Onnx;

/// <summary>What the walk remembers about one readable weight: its description and where its bytes are, never the bytes.</summary>
internal sealed record OnnxTensorRecord(OnnxWeight Weight, OnnxBytesLocation Bytes);

/// <summary>Where one weight's bytes are; which members apply depends on <see cref="OnnxWeight.Storage"/>.</summary>
internal readonly record struct OnnxBytesLocation
{
    /// <summary>RawData: payload offset in the model file. External: offset in <see cref="ExternalFile"/>.</summary>
    public long DataOffset { get; init; }

    /// <summary>TypedField: offset of the TensorProto (or Constant AttributeProto) message to decode on read.</summary>
    public long MessageOffset { get; init; }

    /// <summary>TypedField: the message length in bytes.</summary>
    public int MessageLength { get; init; }

    /// <summary>TypedField: which field holds the values.</summary>
    public TypedField Field { get; init; }

    /// <summary>External: the mapped file the bytes live in (owned by <see cref="OnnxExternalFiles"/>).</summary>
    public MappedFile? ExternalFile { get; init; }
}
