namespace WeightSpace.Analysis.Merging;

/// <summary>Marks a method whose <see cref="IMergeMethod.Merge"/> never writes to its base or model buffers, so the runner
/// may pass it the mapped F32 views of safetensors inputs instead of float copies.</summary>
/// <remarks>The views are mapped read-only: a method that wrote to them anyway would fault, not corrupt a file. Only
/// methods whose code was checked for it carry the mark (slerp and passthrough).</remarks>
internal interface IReadOnlyInputsMergeMethod : IMergeMethod;
