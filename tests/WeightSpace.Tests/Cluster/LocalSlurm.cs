using System.Diagnostics;

namespace WeightSpace.Tests.Cluster;

/// <summary>A one-node Slurm (munged, slurmctld, slurmd from Debian's slurm-wlm and munge) brought up on localhost by
/// tools/slurm/local-cluster.sh in a temp folder, and stopped by its pid files on dispose.</summary>
public sealed class LocalSlurm : IDisposable
{
    private LocalSlurm(string folder) => Folder = folder;

    /// <summary>The cluster's folder (slurm.conf, logs, state).</summary>
    public string Folder { get; }

    /// <summary>The client configuration: SLURM_CONF for sbatch, squeue and scontrol.</summary>
    public string ConfigPath => Path.Combine(Folder, "slurm.conf");

    /// <summary>Starts the cluster, or skips the test with the reason when Slurm is absent or does not come up.</summary>
    public static LocalSlurm StartOrSkip()
    {
        foreach (var tool in new[] { "munged", "slurmctld", "slurmd", "sbatch", "scontrol" })
            if (FindOnPath(tool) is null)
                Assert.Skip($"Slurm is not installed ({tool} not on PATH; .ci/install-deps installs slurm-wlm and munge)");
        string folder = Path.Combine(SharedData.TempFolder(), "slurm");
        string script = Path.Combine(SharedData.RepositoryRoot, "tools", "slurm", "local-cluster.sh");
        var (code, output) = Run("bash", [script, "start", folder], null, TimeSpan.FromSeconds(60));
        if (code != 0) Assert.Skip($"a local Slurm could not start here (exit {code}): {output.Trim()}");
        return new LocalSlurm(folder);
    }

    /// <summary>Points this process's SLURM_CONF (which sbatch, started by the code under test, inherits) at this
    /// cluster until the returned value is disposed.</summary>
    public IDisposable AsDefault() => new EnvironmentOverride("SLURM_CONF", ConfigPath);

    private sealed class EnvironmentOverride : IDisposable
    {
        private readonly string _name;
        private readonly string? _previous;

        public EnvironmentOverride(string name, string value)
        {
            _name = name;
            _previous = Environment.GetEnvironmentVariable(name);
            Environment.SetEnvironmentVariable(name, value);
        }

        public void Dispose() => Environment.SetEnvironmentVariable(_name, _previous);
    }

    /// <summary>Runs a Slurm client command against this cluster.</summary>
    public (int ExitCode, string Output) Client(string tool, params string[] args) =>
        Run(tool, args, ConfigPath, TimeSpan.FromSeconds(30));

    /// <summary>The state of job <paramref name="jobId"/> (<c>PENDING</c>, <c>RUNNING</c>, <c>COMPLETED</c>, <c>FAILED</c> …).</summary>
    public string JobState(string jobId)
    {
        var (_, output) = Client("scontrol", "show", "job", jobId);
        int at = output.IndexOf("JobState=", StringComparison.Ordinal);
        return at < 0 ? "UNKNOWN" : output[(at + 9)..].Split(' ', '\n')[0];
    }

    /// <summary>Waits until job <paramref name="jobId"/> has ended and returns its final state.</summary>
    public string WaitForJob(string jobId, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            string state = JobState(jobId);
            if (state is not ("PENDING" or "RUNNING" or "CONFIGURING" or "COMPLETING" or "UNKNOWN")) return state;
            Thread.Sleep(250);
        }
        return "TIMEOUT";
    }

    public void Dispose()
    {
        string script = Path.Combine(SharedData.RepositoryRoot, "tools", "slurm", "local-cluster.sh");
        Run("bash", [script, "stop", Folder], null, TimeSpan.FromSeconds(30));
    }

    private static (int, string) Run(string file, string[] args, string? slurmConf, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        if (slurmConf is not null) info.Environment["SLURM_CONF"] = slurmConf;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{file} timed out after {timeout.TotalSeconds} s");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private static string? FindOnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/sbin"])
            .Select(dir => Path.Combine(dir, tool)).FirstOrDefault(File.Exists);
}
