namespace WeightSpace.Analysis.Cluster;

/// <summary>What a Slurm run of a sharded analysis asks the scheduler for, and where it writes.</summary>
public sealed record SlurmJobOptions
{
    /// <summary>Number of array tasks (shards), 1 to 100,000.</summary>
    public required int ArrayCount { get; init; }

    /// <summary>The run's folder: scripts, <c>parts/</c>, <c>logs/</c> and the combined result. Absolute after
    /// <see cref="SlurmJob.Prepare"/>; it must be on a filesystem every node sees.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>The command that runs WeightSpace on a node, as argument words (e.g. <c>["/opt/ws/weightspace"]</c> or
    /// <c>["dotnet", "/opt/ws/weightspace.dll"]</c>).</summary>
    public required IReadOnlyList<string> WeightSpaceCommand { get; init; }

    /// <summary><c>--partition</c>, or null for the cluster's default.</summary>
    public string? Partition { get; init; }

    /// <summary><c>--time</c> per task (Slurm's syntax: <c>MM</c>, <c>HH:MM:SS</c>, <c>D-HH</c> …), or null.</summary>
    public string? Time { get; init; }

    /// <summary><c>--cpus-per-task</c>, or null (the analysis then uses what Slurm gives it).</summary>
    public int? CpusPerTask { get; init; }

    /// <summary><c>--mem</c> per task (Slurm's syntax: <c>16G</c>, <c>4000M</c>), or null.</summary>
    public string? Memory { get; init; }

    /// <summary><c>--account</c>, or null.</summary>
    public string? Account { get; init; }

    /// <summary>Lines run before WeightSpace in every job (e.g. <c>module load dotnet</c>).</summary>
    public IReadOnlyList<string> Setup { get; init; } = [];

    /// <summary>What the combine step writes in the run folder: <see cref="SlurmJob.ResultName"/> (a JSON report), or a
    /// folder name for verbs whose result is a folder (<c>adapter</c> for <c>lora extract</c>).</summary>
    public string CombineOutputName { get; init; } = SlurmJob.ResultName;

    /// <summary>Extra arguments for the combine step (e.g. <c>--report</c> with a path).</summary>
    public IReadOnlyList<string> CombineArguments { get; init; } = [];
}
