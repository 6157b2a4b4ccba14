using System.Text.Json;

namespace WeightSpace.Tests;

/// <summary>Locates <c>../shared/data</c> (real models and PyTorch-made fixtures), its in-repo subset
/// <c>tests/fixtures</c>, and the repository root.</summary>
/// <remarks>Tests that need the data call <see cref="Require"/> with a path relative to <c>shared/data</c>. It answers
/// from <c>../shared/data</c> when that folder is present, else from <c>tests/fixtures</c> (the same bytes for a
/// ~4 MB subset, see its README), and skips with a visible message when neither has the file (a fresh clone runs the
/// fixture tests and skips the rest). Set WEIGHTSPACE_SHARED_DATA to point elsewhere.</remarks>
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

    /// <summary>The in-repo fixture set: a subset of the shared data, same relative paths and bytes.</summary>
    public static string FixturesFolder => Path.Combine(RepositoryRoot, "tests", "fixtures");

    /// <summary>Full path of <paramref name="relative"/> (a path inside <c>shared/data</c>): from the shared data when
    /// present, else from the fixture set; skips the test if neither has it.</summary>
    public static string Require(string relative)
    {
        string? path = TryResolve(relative);
        if (path is not null) return path;
        if (Folder is not null) Assert.Fail($"shared data present but {relative} is missing");
        Assert.Skip($"../shared/data is absent (looked beside {RepositoryRoot}) and tests/fixtures has no {relative}; set WEIGHTSPACE_SHARED_DATA to run this test.");
        return null!;
    }

    /// <summary>A model folder of the shared data that holds its weights (<c>model.safetensors</c> or a shard index): the
    /// fixture set keeps some folders' config and tokenizer only, so a fresh clone skips instead of failing to open them.</summary>
    public static string RequireModel(string relativeFolder)
    {
        string folder = Require(relativeFolder);
        if (File.Exists(Path.Combine(folder, "model.safetensors")) || File.Exists(Path.Combine(folder, "model.safetensors.index.json"))) return folder;
        return Require(relativeFolder + "/model.safetensors");
    }

    /// <summary>Like <see cref="Require"/> but null instead of a skip (for building test cases before any test runs).</summary>
    public static string? TryResolve(string relative)
    {
        string root = Folder ?? FixturesFolder;
        string path = Path.Combine(root, relative);
        return File.Exists(path) || Directory.Exists(path) ? path : null;
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

    /// <summary>A writable copy of a model folder's files (not its subfolders) in <c>TEMP/name</c>, for tests that edit
    /// <c>config.json</c> or a tokenizer file without touching the shared data.</summary>
    /// <param name="folder">The folder to copy (e.g. from <see cref="RequireModel"/>).</param>
    /// <param name="name">The copy's folder name (error messages show it).</param>
    public static string CopyFolder(string folder, string name = "model")
    {
        string target = Path.Combine(TempFolder(), name);
        Directory.CreateDirectory(target);
        foreach (string file in Directory.GetFiles(folder))
        {
            string copy = Path.Combine(target, Path.GetFileName(file));
            File.Copy(file, copy);
            File.SetAttributes(copy, FileAttributes.Normal);   // the shared data may be read-only
        }
        return target;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "WeightSpace.sln"))) return dir.FullName;
        throw new InvalidOperationException("WeightSpace.sln not found above " + AppContext.BaseDirectory);
    }
}
