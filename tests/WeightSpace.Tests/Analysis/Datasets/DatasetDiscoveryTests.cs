using WeightSpace.Analysis.Datasets;

namespace WeightSpace.Tests.Analysis.Datasets;

/// <summary><see cref="DatasetLoader.Load"/>: what kind of dataset a path is, and the typed errors when it is none.</summary>
public sealed class DatasetDiscoveryTests
{
    [Fact]
    public void Load_Npz_And_NpyPair()
    {
        string dir = SharedData.TempFolder();
        string x = Path.Combine(dir, "x.npy"), y = Path.Combine(dir, "y.npy");
        File.WriteAllBytes(x, NpyBytes.Build("<f4", "(2, 3)", NpyBytes.Floats(1, 2, 3, 4, 5, 6)));
        File.WriteAllBytes(y, NpyBytes.Build("<i8", "(2,)", NpyBytes.Longs(0, 1)));
        var pair = DatasetLoader.Load($"{x},{y}");
        Assert.Equal(2, pair.Count);
        Assert.Equal(pair.Count, DatasetLoader.Load($"{x},{y}", DatasetSplit.Train).Count);
    }

    [Fact]
    public void Load_FolderWithoutIdx_NamesTheFolder()
    {
        string dir = SharedData.TempFolder();
        var e = Assert.Throws<InvalidDatasetException>(() => DatasetLoader.Load(dir));
        Assert.Contains(dir, e.Message);
        Assert.Contains("no IDX pair", e.Message);
    }

    [Fact]
    public void Load_Missing_Unknown_AndBadPair_AreTypedErrors()
    {
        string dir = SharedData.TempFolder();
        Assert.Throws<FileNotFoundException>(() => DatasetLoader.Load(Path.Combine(dir, "none.npz")));
        string text = Path.Combine(dir, "notes.txt");
        File.WriteAllText(text, "1,2,3");
        Assert.Contains("expected a folder", Assert.Throws<InvalidDatasetException>(() => DatasetLoader.Load(text)).Message);
        Assert.Contains("FEATURES,LABELS", Assert.Throws<InvalidDatasetException>(() => DatasetLoader.Load("a,b,c")).Message);
    }
}
