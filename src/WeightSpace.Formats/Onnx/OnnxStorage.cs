namespace WeightSpace.Formats.Onnx;

/// <summary>Where a weight's bytes are stored in the model.</summary>
public enum OnnxStorage
{
    /// <summary><c>TensorProto.raw_data</c>: little-endian bytes inside the model file, read as a zero-copy view.</summary>
    RawData,
    /// <summary>A typed repeated field (<c>float_data</c>, <c>int32_data</c>, <c>int64_data</c>, <c>double_data</c>),
    /// or a Constant's <c>value_float(s)</c>/<c>value_int(s)</c>; decoded into a pooled buffer on read.</summary>
    TypedField,
    /// <summary><c>data_location = EXTERNAL</c>: bytes in a file beside the model, read as a zero-copy view.</summary>
    External,
    /// <summary>No data field at all; only valid for tensors with zero elements (e.g. shape <c>[0]</c>).</summary>
    Empty,
}
