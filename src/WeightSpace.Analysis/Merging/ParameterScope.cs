namespace WeightSpace.Analysis.Merging;

/// <summary>Where a merge parameter may be set.</summary>
public enum ParameterScope
{
    /// <summary>One value per tensor, set at the top level or per slice (<c>parameters:</c> of the config or slice).</summary>
    Global,
    /// <summary>One value per input model and tensor (<c>parameters:</c> under a model or slice source; falls back to the global value).</summary>
    PerModel,
}
