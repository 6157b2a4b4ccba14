namespace WeightSpace.Analysis.Cluster;

/// <summary>The two scripts of a Slurm run and where they go.</summary>
/// <param name="Directory">The run folder (absolute).</param>
/// <param name="ArrayScript">The job-array script's text.</param>
/// <param name="CombineScript">The combine script's text.</param>
public sealed record SlurmScripts(string Directory, string ArrayScript, string CombineScript)
{
    /// <summary>Where the array script is written.</summary>
    public string ArrayScriptPath => Path.Combine(Directory, SlurmJob.ArrayScriptName);
    /// <summary>Where the combine script is written.</summary>
    public string CombineScriptPath => Path.Combine(Directory, SlurmJob.CombineScriptName);
}
