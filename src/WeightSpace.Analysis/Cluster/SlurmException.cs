namespace WeightSpace.Analysis.Cluster;

/// <summary>Slurm is absent or refused a job; the message has what <c>sbatch</c> said.</summary>
public sealed class SlurmException : WeightSpaceException
{
    /// <summary>Creates the exception.</summary>
    public SlurmException(string message, Exception? inner = null) : base(message, inner) { }
}
