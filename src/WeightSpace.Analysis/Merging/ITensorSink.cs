namespace WeightSpace.Analysis.Merging;

/// <summary>Receives merged tensors one at a time, e.g. a safetensors writer that knows <see cref="Planning.MergePlan.Outputs"/> up front.</summary>
/// <remarks><see cref="Planning.MergeRunner"/> never calls the sink from two threads at once. With more than one worker the
/// order of calls is not the order of <see cref="Planning.MergePlan.Outputs"/>; each output name arrives exactly once.</remarks>
public interface ITensorSink
{
    /// <summary>Writes floating-point tensor <paramref name="name"/>; the sink converts to the dtype the output lists.</summary>
    /// <param name="name">An output name from <see cref="Planning.MergePlan.Outputs"/>.</param>
    /// <param name="values">All elements in C order; valid only during the call.</param>
    void Write(string name, ReadOnlySpan<float> values);

    /// <summary>Writes a non-float tensor (integers, bool) verbatim: little-endian bytes of the dtype the output lists.</summary>
    /// <remarks>Integer tensors are copied from the base model; going through float32 would corrupt I64 values above 2^24.</remarks>
    void WriteBytes(string name, ReadOnlySpan<byte> values);
}
