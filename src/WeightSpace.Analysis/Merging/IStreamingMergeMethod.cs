using WeightSpace.Analysis.Merging.Kernels;

namespace WeightSpace.Analysis.Merging;

/// <summary>A method whose merge of a tensor the streaming kernel (<see cref="StreamingTaskArithmetic"/>) can compute
/// from read-only inputs, bit for bit equal to its <see cref="IMergeMethod.Merge"/>: the runner then skips the float
/// copies of mapped F32 inputs and can write the output block by block.</summary>
internal interface IStreamingMergeMethod : IMergeMethod
{
    /// <summary>True when tensors with these parameters can take the streaming path.</summary>
    bool SupportsReadOnlyInputs(MergeParameters p);

    /// <summary>The kernel and each model's trim for one tensor (only when <see cref="SupportsReadOnlyInputs"/>).</summary>
    /// <param name="tensor">The output tensor.</param>
    /// <param name="p">Its parameters.</param>
    /// <param name="models">Number of merged models.</param>
    /// <param name="modelThresholds">Model-wide |τ| thresholds (paper-semantics TIES), or null.</param>
    /// <param name="rules">One trim rule per model.</param>
    StreamingTaskArithmetic CreateKernel(TensorInfo tensor, MergeParameters p, int models, float[]? modelThresholds, out TrimRule[] rules);
}

/// <summary>Runs an <see cref="IStreamingMergeMethod"/> on pointers to read-only inputs.</summary>
internal static class StreamingMerge
{
    /// <summary>Merges one tensor into <paramref name="destination"/> (float*); <paramref name="baseValues"/> is θ₀ (float*)
    /// or 0 for a method without a base. Returns what the kernel did (<see cref="StreamingMergeResult.BandMisses"/>).</summary>
    public static StreamingMergeResult MergeReadOnly(this IStreamingMergeMethod method, TensorInfo tensor, MergeParameters p, float[]? modelThresholds,
        nint baseValues, nint[] models, nint destination) =>
        method.MergeReadOnly(tensor, p, modelThresholds, StreamInput.Single(baseValues), models.Select(StreamInput.Single).ToArray(), destination);

    /// <summary>As the pointer overload, for inputs in any floating dtype.</summary>
    public static StreamingMergeResult MergeReadOnly(this IStreamingMergeMethod method, TensorInfo tensor, MergeParameters p, float[]? modelThresholds,
        StreamInput baseValues, StreamInput[] models, nint destination)
    {
        var kernel = method.CreateKernel(tensor, p, models.Length, modelThresholds, out var rules);
        return kernel.Merge(baseValues, models, checked((int)tensor.ElementCount), rules, destination);
    }

    /// <summary>As the other overload, for inputs in any floating dtype, handing each finished block of the output to
    /// <paramref name="output"/> (from several threads).</summary>
    public static StreamingMergeResult MergeReadOnly(this IStreamingMergeMethod method, TensorInfo tensor, MergeParameters p, float[]? modelThresholds,
        StreamInput baseValues, StreamInput[] models, StreamingTaskArithmetic.OutputBlock output)
    {
        var kernel = method.CreateKernel(tensor, p, models.Length, modelThresholds, out var rules);
        return kernel.Merge(baseValues, models, checked((int)tensor.ElementCount), rules, output);
    }
}
