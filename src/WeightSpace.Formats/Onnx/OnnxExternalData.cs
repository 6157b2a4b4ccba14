namespace WeightSpace.Formats.Onnx;

/// <summary>The <c>external_data</c> entries of a tensor stored outside the model file, as written in the model.</summary>
/// <param name="Location">The <c>location</c> entry: a path relative to the model's folder.</param>
/// <param name="Offset">The <c>offset</c> entry in bytes, or null when absent (then 0).</param>
/// <param name="Length">The <c>length</c> entry in bytes, or null when absent (then the rest of the file).</param>
/// <param name="FullPath">The resolved, validated path inside the model's folder.</param>
public sealed record OnnxExternalData(string Location, long? Offset, long? Length, string FullPath);
