namespace WeightSpace.Analysis.Merging;

/// <summary>The type of a merge parameter's value.</summary>
public enum ParameterKind
{
    /// <summary>A real number within the spec's range.</summary>
    Number,
    /// <summary>true or false (stored as 1 or 0).</summary>
    Boolean,
    /// <summary>One of the spec's <see cref="ParameterSpec.Choices"/> (stored as its index).</summary>
    Choice,
}
