namespace WeightSpace.Analysis.Merging;

/// <summary>A merge method that must see the whole model before it merges any tensor, e.g. TIES under paper
/// semantics, which trims each task vector against one magnitude threshold over all merged tensors. The runner calls
/// <see cref="PrepareWholeModel"/> once, before the first tensor, and hands its result to every tensor's merge as
/// <see cref="MergeInputs.ModelThresholds"/>.</summary>
public interface IWholeModelMergeMethod : IMergeMethod
{
    /// <summary>The whole-model pre-pass: one value per merged model (e.g. a |τ| threshold), or null when these
    /// tensors' parameters need none.</summary>
    /// <param name="tensors">Every tensor of the plan, in plan order (copies included).</param>
    /// <param name="ct">Stops the pass between tensors.</param>
    /// <exception cref="MergeConfigException">The parameters do not allow a whole-model pass (the message says which).</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    float[]? PrepareWholeModel(IReadOnlyList<PlannedTensor> tensors, CancellationToken ct);
}
