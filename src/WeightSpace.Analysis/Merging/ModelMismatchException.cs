namespace WeightSpace.Analysis.Merging;

/// <summary>Models to be merged or compared do not line up: missing tensors, different shapes or dtypes. Lists every problem at once.</summary>
public sealed class ModelMismatchException : WeightSpaceException
{
    /// <summary>Creates the exception from the full list of problems.</summary>
    public ModelMismatchException(IReadOnlyList<string> problems)
        : base($"{problems.Count} tensor problem(s): " + string.Join("; ", problems.Take(50)) + (problems.Count > 50 ? $"; … and {problems.Count - 50} more" : ""))
        => Problems = problems;

    /// <summary>Every problem, one line each, naming the model and tensor.</summary>
    public IReadOnlyList<string> Problems { get; }
}
