namespace WeightSpace.Analysis.Compatibility;

/// <summary>Models to be merged or compared do not line up: missing tensors, different shapes or dtypes. Lists every problem at once.</summary>
public sealed class ModelMismatchException : WeightSpaceException
{
    // The message is the one line a user sees; ten examples say what is wrong, the full list is in Problems.
    private const int MessageLimit = 10;

    /// <summary>Creates the exception from the full list of problems.</summary>
    public ModelMismatchException(IReadOnlyList<string> problems)
        : base($"{problems.Count} tensor problem(s): " + string.Join("; ", problems.Take(MessageLimit)) + (problems.Count > MessageLimit ? $"; … and {problems.Count - MessageLimit} more (all are in Problems)" : ""))
        => Problems = problems;

    /// <summary>Every problem, one line each, naming the model and tensor.</summary>
    public IReadOnlyList<string> Problems { get; }
}
