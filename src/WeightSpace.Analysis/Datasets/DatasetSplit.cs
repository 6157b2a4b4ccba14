namespace WeightSpace.Analysis.Datasets;

/// <summary>Which split <see cref="DatasetLoader.Load"/> takes from a folder that holds several.</summary>
public enum DatasetSplit
{
    /// <summary>The held-out split: <c>t10k</c>, else <c>test</c>, else <c>digits</c>.</summary>
    Test,

    /// <summary>The training split (<c>train</c>), falling back to the test split when the folder has none.</summary>
    Train,
}
