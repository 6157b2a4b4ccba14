using CsCheck;
using WeightSpace.Analysis.Datasets;

namespace WeightSpace.Tests.Analysis.Datasets;

/// <summary>Mutated files must fail only with <see cref="InvalidDatasetException"/>, never with a low-level exception.</summary>
public sealed class DatasetFuzzTests
{
    [Fact]
    public void NumpyRead_MutatedFile_ThrowsOnlyInvalidDataset()
    {
        byte[] valid = NpyBytes.Build("<f4", "(2, 3)", NpyBytes.Floats(1, 2, 3, 4, 5, 6));
        string path = Path.Combine(SharedData.TempFolder(), "m.npy");
        Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Byte, Gen.Int[0, valid.Length]).Sample((position, value, cut) =>
        {
            var bytes = valid[..cut];
            if (position < bytes.Length) bytes[position] = value;
            File.WriteAllBytes(path, bytes);
            try { NumpyFile.Read(path); }
            catch (InvalidDatasetException) { }
        }, iter: 3000, threads: 1);
    }

    [Fact]
    public void LoadIdx_MutatedFile_ThrowsOnlyInvalidDataset()
    {
        byte[] images = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8];
        string dir = SharedData.TempFolder();
        File.WriteAllBytes(Path.Combine(dir, "x-labels-idx1-ubyte"), [0, 0, 8, 1, 0, 0, 0, 2, 3, 4]);
        string path = Path.Combine(dir, "x-images-idx3-ubyte");
        Gen.Select(Gen.Int[0, images.Length - 1], Gen.Byte, Gen.Int[0, images.Length]).Sample((position, value, cut) =>
        {
            var bytes = images[..cut];
            if (position < bytes.Length) bytes[position] = value;
            File.WriteAllBytes(path, bytes);
            try { DatasetLoader.LoadIdxSplit(dir, "x"); }
            catch (InvalidDatasetException) { }
        }, iter: 3000, threads: 1);
    }
}
