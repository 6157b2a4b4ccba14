using System.Security.Cryptography;

namespace WeightSpace.Tests.FixtureSet;

/// <summary>The in-repo fixture set (tests/fixtures) is what its manifest says, stays small, and is byte-for-byte the
/// shared data it was copied from.</summary>
public sealed class FixtureSetTests
{
    private static Dictionary<string, string> Manifest(string sumsFile) =>
        File.ReadLines(sumsFile)
            .Where(l => l.Length > 66)
            .ToDictionary(l => l[66..].TrimStart('*'), l => l[..64], StringComparer.Ordinal);

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static IEnumerable<string> FixtureFiles() =>
        Directory.EnumerateFiles(SharedData.FixturesFolder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(SharedData.FixturesFolder, f).Replace('\\', '/'))
            .Where(f => f is not "README.md" and not "SHA256SUMS");

    [Fact]
    public void EveryFile_MatchesTheManifest_AndTheManifestListsEveryFile()
    {
        var manifest = Manifest(Path.Combine(SharedData.FixturesFolder, "SHA256SUMS"));
        var files = FixtureFiles().Order(StringComparer.Ordinal).ToList();
        Assert.Equal(manifest.Keys.Order(StringComparer.Ordinal), files);
        foreach (string f in files)
            Assert.True(manifest[f] == Sha256(Path.Combine(SharedData.FixturesFolder, f)), $"tests/fixtures/{f} differs from its SHA256SUMS line");
    }

    [Fact]
    public void TotalSize_IsAtMost5MB()
    {
        long total = Directory.EnumerateFiles(SharedData.FixturesFolder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.True(total <= 5_000_000, $"tests/fixtures holds {total} bytes");
    }

    [Fact]
    public void EveryFile_IsTheSharedDataFileOfTheSamePath()
    {
        string? sharedFolder = SharedData.Folder;
        if (sharedFolder is null) Assert.Skip("../shared/data is absent: provenance of tests/fixtures is checked where it is present.");
        // The shared data's own SHA256SUMS (written with the data, not by this project) where it lists a file; it does
        // not list llm/ and gguf/, whose files are compared with their originals only.
        var listed = Manifest(Path.Combine(sharedFolder!, "SHA256SUMS"));
        foreach (var (name, hash) in Manifest(Path.Combine(SharedData.FixturesFolder, "SHA256SUMS")))
        {
            string original = Path.Combine(sharedFolder!, name);
            Assert.True(File.Exists(original), $"tests/fixtures/{name} has no original in shared/data");
            Assert.True(Sha256(original) == Sha256(Path.Combine(SharedData.FixturesFolder, name)), $"tests/fixtures/{name} differs from shared/data/{name}");
            if (listed.TryGetValue(name, out var published)) Assert.Equal(published, hash);
        }
    }
}
