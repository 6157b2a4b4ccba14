namespace WeightSpace.Analysis.Merging;

/// <summary>Progress of a merge after a tensor has been written.</summary>
/// <param name="TensorsDone">Output tensors written so far.</param>
/// <param name="TensorCount">Output tensors in the plan.</param>
/// <param name="BytesDone">Output bytes (in output dtypes) written so far.</param>
/// <param name="ByteCount">Output bytes of the whole plan.</param>
/// <param name="LastTensor">The tensor just written.</param>
public readonly record struct MergeProgress(int TensorsDone, int TensorCount, long BytesDone, long ByteCount, string LastTensor);
