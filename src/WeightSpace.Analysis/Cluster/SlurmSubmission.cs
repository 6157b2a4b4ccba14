namespace WeightSpace.Analysis.Cluster;

/// <summary>The job ids <c>sbatch</c> gave.</summary>
/// <param name="ArrayJobId">The array job.</param>
/// <param name="CombineJobId">The combine job.</param>
public sealed record SlurmSubmission(string ArrayJobId, string CombineJobId);
