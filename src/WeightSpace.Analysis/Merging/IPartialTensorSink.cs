namespace WeightSpace.Analysis.Merging;

/// <summary>A sink that also takes a float tensor in parts, from several threads at once: the runner then writes each
/// block of an output as soon as it is computed, with no whole-tensor output buffer and no serial copy at the end.</summary>
public interface IPartialTensorSink : ITensorSink
{
    /// <summary>Writes elements <c>[elementOffset, elementOffset + values.Length)</c> of float tensor <paramref name="name"/>,
    /// converted to the dtype the output lists.</summary>
    /// <remarks>Thread-safe, also against <see cref="ITensorSink.Write"/> and <see cref="ITensorSink.WriteBytes"/> for other
    /// tensors. The parts of one tensor never overlap and together cover it once.</remarks>
    /// <param name="name">An output name from <see cref="Planning.MergePlan.Outputs"/>.</param>
    /// <param name="elementOffset">Index of the first element.</param>
    /// <param name="values">The elements; valid only during the call.</param>
    void WritePart(string name, long elementOffset, ReadOnlySpan<float> values);
}
