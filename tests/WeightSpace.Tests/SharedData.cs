using System.Text.Json;

namespace WeightSpace.Tests;

/// <summary>Locates <c>../shared/data</c> (real models and PyTorch-made fixtures) and the repository root.</summary>
/// <remarks>Tests that need the shared data call <see cref="Require"/>, which skips with a visible message when the
/// folder is absent (a clone without the workspace beside it). Set WEIGHTSPACE_SHARED_DATA to point elsewhere.</remarks>
internal static class SharedData
{
    private static readonly Lazy<string> Root = new(FindRepositoryRoot);

    /// <summary>The repository root (the folder with WeightSpace.sln).</summary>
    public static string RepositoryRoot => Root.Value;

    /// <summary>The shared data folder, or null if it is absent.</summary>
    public static string? Folder
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("WEIGHTSPACE_SHARED_DATA");
            if (!string.IsNullOrEmpty(env)) return Directory.Exists(env) ? env : null;
            string candidate = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "data"));
            return Directory.Exists(candidate) ? candidate : null;
        }
    }

    /// <summary>Full path of <paramref name="relative"/> inside the shared data; skips the test if the folder is absent.</summary>
    public static string Require(string relative)
    {
        string? folder = Folder;
        if (folder is null)
            Assert.Skip($"../shared/data is absent (looked beside {RepositoryRoot}); set WEIGHTSPACE_SHARED_DATA to run this test.");
        string path = Path.Combine(folder!, relative);
        Assert.True(File.Exists(path) || Directory.Exists(path), $"shared data present but {relative} is missing");
        return path;
    }

    /// <summary>Parses a JSON file of the shared data.</summary>
    public static JsonDocument Json(string relative) => JsonDocument.Parse(File.ReadAllBytes(Require(relative)));

    /// <summary>A fresh empty folder under the system temp folder; tests write nowhere else.</summary>
    public static string TempFolder()
    {
        string dir = Path.Combine(Path.GetTempPath(), "weightspace-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "WeightSpace.sln"))) return dir.FullName;
        throw new InvalidOperationException("WeightSpace.sln not found above " + AppContext.BaseDirectory);
    }
}
