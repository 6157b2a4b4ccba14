using WeightSpace.Formats.Pickle;
using WeightSpace.Formats.PyTorch;

namespace WeightSpace.Tests.Formats.PyTorch;

/// <summary>Runs with the current directory changed, so it must not run beside other tests.</summary>
[CollectionDefinition(nameof(CurrentDirectoryCollection), DisableParallelization = true)]
public sealed class CurrentDirectoryCollection;

/// <summary>shared/data/torch/malicious: each file is refused, the refusal names the global, and no payload ran.</summary>
[Collection(nameof(CurrentDirectoryCollection))]
public sealed class PyTorchMaliciousTests
{
    public static TheoryData<string, string> Files => new()
    {
        // file, the first global outside the allow-list, in pickle order
        { "os_system_zip.pt", "posix.system" },
        { "eval_legacy.pt", "__builtin__.eval" },
        { "stack_global_protocol4_zip.pt", "posix.system" },
        { "getattr_import_zip.pt", "__builtin__.getattr" },
        { "popen_raw.pkl", "subprocess.Popen" },
        { "full_module_zip.pt", "torch.nn.modules.container.Sequential" },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void Open_MaliciousFile_RefusesNamingTheGlobalAndRunsNothing(string file, string global)
    {
        using var doc = SharedData.Json("torch/malicious/expected.json");
        var listed = doc.RootElement.GetProperty("files").EnumerateArray()
            .Single(f => f.GetProperty("file").GetString() == $"torch/malicious/{file}")
            .GetProperty("pickle_globals").EnumerateArray().Select(g => g.GetString()!).ToList();
        Assert.Contains(global, listed);
        Assert.False(PickleAllowList.IsAllowed(global));

        string path = SharedData.Require($"torch/malicious/{file}");
        string sandbox = SharedData.TempFolder();
        string previous = Directory.GetCurrentDirectory();
        UnsafePickleException ex;
        try
        {
            // A payload that ran would touch WEIGHTSPACE_PWNED_* in the current directory: make that a fresh folder.
            Directory.SetCurrentDirectory(sandbox);
            ex = Assert.Throws<UnsafePickleException>(() => PyTorchReader.Open(path).Dispose());
        }
        finally
        {
            Directory.SetCurrentDirectory(previous);
        }

        Assert.Equal(global, ex.Global);
        Assert.Contains(global, ex.Message);
        Assert.Contains(file, ex.Message);
        foreach (string folder in new[] { sandbox, previous, Path.GetTempPath() })
            Assert.Empty(Directory.GetFiles(folder, "WEIGHTSPACE_PWNED_*"));
    }

    [Fact]
    public void Expected_EveryMaliciousFile_IsCovered()
    {
        using var doc = SharedData.Json("torch/malicious/expected.json");
        var covered = Files.Select(row => "torch/malicious/" + (string)row.Data.Item1).Order();
        var listed = doc.RootElement.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("file").GetString()!).Order();
        Assert.Equal(listed, covered);
    }
}
