using WeightSpace.IO;

namespace WeightSpace.Tests.Core.IO;

public sealed class AtomicFileTests
{
    [Fact]
    public void Write_ReplacesTheFileAndLeavesNoTemp()
    {
        string dir = SharedData.TempFolder();
        string path = Path.Combine(dir, "out.json");
        AtomicFile.WriteAllText(path, "old");
        AtomicFile.Write(path, s => s.Write("new"u8));
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(["out.json"], Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName));
    }

    [Fact]
    public void Write_FailingWriter_KeepsTheOldFileAndRemovesTheTemp()
    {
        string dir = SharedData.TempFolder();
        string path = Path.Combine(dir, "report.html");
        AtomicFile.WriteAllBytes(path, "old"u8);
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write("half"u8);
            throw new InvalidOperationException("disk full");
        }));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Single(Directory.EnumerateFileSystemEntries(dir));
    }

    [Fact]
    public void WritePath_ForEncodersThatTakeAPath_CreatesTheFolder()
    {
        string path = Path.Combine(SharedData.TempFolder(), "plots", "a.png");
        AtomicFile.Write(path, (string temp) => File.WriteAllBytes(temp, [1, 2, 3]));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
    }

    [Fact]
    public void CommitDirectory_ReplacesTheTargetWhole()
    {
        string parent = SharedData.TempFolder();
        string target = Path.Combine(parent, "merged");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "stale.safetensors"), "old");
        string staging = Path.Combine(parent, ".merged.partial");
        Directory.CreateDirectory(staging);
        File.WriteAllText(Path.Combine(staging, "model.safetensors"), "new");
        AtomicFile.CommitDirectory(staging, target);
        Assert.Equal(["model.safetensors"], Directory.EnumerateFiles(target).Select(Path.GetFileName));
        Assert.Equal(["merged"], Directory.EnumerateFileSystemEntries(parent).Select(Path.GetFileName));
    }

    [Fact]
    public void SyncDirectory_MissingDirectory_Throws()
    {
        if (OperatingSystem.IsWindows()) return;
        Assert.Throws<IOException>(() => AtomicFile.SyncDirectory(Path.Combine(SharedData.TempFolder(), "absent")));
        AtomicFile.SyncDirectory(SharedData.TempFolder());
    }
}
