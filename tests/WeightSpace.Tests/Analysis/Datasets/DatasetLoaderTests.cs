using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using WeightSpace.Analysis.Datasets;

namespace WeightSpace.Tests.Analysis.Datasets;

/// <summary>Loaders against the shared data's expected.json (written by Python from the Debian packages) and hand-built files.</summary>
public sealed class DatasetLoaderTests
{
    private static JsonElement Expected => SharedData.Json("datasets/expected.json").RootElement;

    [Theory]
    [InlineData("train")]
    [InlineData("t10k")]
    public void LoadIdxSplit_FashionMnist_MatchesExpectedJson(string split)
    {
        string dir = SharedData.Require("datasets/fashion-mnist");
        var expected = Expected.GetProperty("fashion_mnist").GetProperty(split);
        var images = expected.GetProperty("images");
        var labels = expected.GetProperty("labels");

        var data = DatasetLoader.LoadIdxSplit(dir, split);

        var dims = images.GetProperty("dims").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        Assert.Equal(dims[0], data.Count);
        Assert.Equal(new Shape(dims[1], dims[2]), data.SampleShape);
        Assert.Equal(images.GetProperty("pixel_sum").GetInt64(), PixelSum(data.Features));
        Assert.Equal(images.GetProperty("first_image_pixel_sum").GetInt64(), PixelSum(data.Sample(0)));
        Assert.Equal(labels.GetProperty("histogram_0_to_9").EnumerateArray().Select(e => e.GetInt32()), Histogram(data.Labels, 10));
        Assert.Equal(labels.GetProperty("first_10").EnumerateArray().Select(e => e.GetInt32()), data.Labels[..10]);
    }

    [Fact]
    public void LoadIdxSplit_SklearnDigits_MatchesExpectedJsonAndFileHashes()
    {
        var expected = Expected.GetProperty("sklearn_digits");
        string imagesPath = SharedData.Require("datasets/sklearn/digits-images-idx3-ubyte");
        Assert.Equal(expected.GetProperty("idx_images").GetProperty("sha256").GetString(), Sha256(imagesPath));

        var data = DatasetLoader.LoadIdxSplit(Path.GetDirectoryName(imagesPath)!, "digits");

        Assert.Equal(1797, data.Count);
        Assert.Equal(new Shape(8, 8), data.SampleShape);
        Assert.Equal(expected.GetProperty("pixel_sum").GetInt64(), PixelSum(data.Features));
        Assert.Equal(expected.GetProperty("histogram_0_to_9").EnumerateArray().Select(e => e.GetInt32()), Histogram(data.Labels, 10));
        Assert.Equal(expected.GetProperty("first_10_labels").EnumerateArray().Select(e => e.GetInt32()), data.Labels[..10]);
    }

    [Fact]
    public void LoadCsv_GzippedDigits_EqualsIdxConversion()
    {
        string csv = SharedData.Require("datasets/sklearn/digits.csv.gz");
        var fromCsv = DatasetLoader.LoadCsv(csv);
        var fromIdx = DatasetLoader.LoadIdxSplit(Path.GetDirectoryName(csv)!, "digits");

        Assert.Equal(fromIdx.Labels, fromCsv.Labels);
        Assert.Equal(fromIdx.Features, fromCsv.Features);
        Assert.Equal(new Shape(64), fromCsv.SampleShape);
    }

    [Fact]
    public void LoadCsv_IrisWithHeaderRow_HasBalancedClasses()
    {
        var expected = Expected.GetProperty("sklearn_iris");
        var data = DatasetLoader.LoadCsv(SharedData.Require("datasets/sklearn/iris.csv"), new CsvDatasetOptions { HeaderRows = 1 });
        Assert.Equal(150, data.Count);
        Assert.Equal(4, data.FeatureCount);
        Assert.Equal(expected.GetProperty("histogram_0_to_2").EnumerateArray().Select(e => e.GetInt32()), Histogram(data.Labels, 3));
    }

    [Fact]
    public void LoadCsv_LabelInFirstColumn_SplitsFeatures()
    {
        string path = Path.Combine(SharedData.TempFolder(), "a.csv");
        File.WriteAllText(path, "label,a,b\n2,0.5,-1\n0,3,4e1\n");
        var data = DatasetLoader.LoadCsv(path, new CsvDatasetOptions { LabelColumn = 0, HeaderRows = 1 });
        Assert.Equal([2, 0], data.Labels);
        Assert.Equal([0.5f, -1f, 3f, 40f], data.Features);
    }

    [Theory]
    [InlineData("1,2,3\n4,5\n", "line 2: 2 columns")]
    [InlineData("1,x,3\n", "line 1, column 2: 'x' is not a number")]
    [InlineData("1,2,3.5\n", "label '3.5' is not a non-negative integer")]
    [InlineData("1,2,-1\n", "label '-1'")]
    public void LoadCsv_BadRow_ThrowsNamingFileAndLine(string text, string fragment)
    {
        string path = Path.Combine(SharedData.TempFolder(), "bad.csv");
        File.WriteAllText(path, text);
        var e = Assert.Throws<InvalidDatasetException>(() => DatasetLoader.LoadCsv(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void LoadIdx_TruncatedPlainFile_ThrowsBeforeAllocating()
    {
        string dir = SharedData.TempFolder();
        string images = Path.Combine(dir, "x-images-idx3-ubyte");
        // Claims 1e9 × 28 × 28 images but holds 10 bytes: must fail on the length check, not allocate 784 GB.
        File.WriteAllBytes(images, [0, 0, 8, 3, 0x3B, 0x9A, 0xCA, 0x00, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        File.WriteAllBytes(Path.Combine(dir, "x-labels-idx1-ubyte"), [0, 0, 8, 1, 0, 0, 0, 1, 3]);
        var e = Assert.Throws<InvalidDatasetException>(() => DatasetLoader.LoadIdxSplit(dir, "x"));
        Assert.Contains(images, e.Message);
        Assert.Contains("over the limit", e.Message);
    }

    [Fact]
    public void LoadIdx_LengthDisagreesWithDims_ThrowsNamingFile()
    {
        string dir = SharedData.TempFolder();
        string images = Path.Combine(dir, "x-images-idx3-ubyte");
        File.WriteAllBytes(images, [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3]);
        File.WriteAllBytes(Path.Combine(dir, "x-labels-idx1-ubyte"), [0, 0, 8, 1, 0, 0, 0, 1, 3]);
        var e = Assert.Throws<InvalidDatasetException>(() => DatasetLoader.LoadIdxSplit(dir, "x"));
        Assert.Contains(images, e.Message);
        Assert.Contains("need 4 data bytes but the file has 3", e.Message);
    }

    [Fact]
    public void LoadIdx_GzippedTruncated_ThrowsTruncated()
    {
        string dir = SharedData.TempFolder();
        string images = Path.Combine(dir, "x-images-idx3-ubyte.gz");
        WriteGzip(images, [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5]);
        WriteGzip(Path.Combine(dir, "x-labels-idx1-ubyte.gz"), [0, 0, 8, 1, 0, 0, 0, 2, 3, 4]);
        var e = Assert.Throws<InvalidDatasetException>(() => DatasetLoader.LoadIdxSplit(dir, "x"));
        Assert.Contains(images, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void LoadIdx_GzippedPair_ReadsValuesAndLabels()
    {
        string dir = SharedData.TempFolder();
        WriteGzip(Path.Combine(dir, "x-images-idx3-ubyte.gz"), [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 1, 2, 250, 4]);
        WriteGzip(Path.Combine(dir, "x-labels-idx1-ubyte.gz"), [0, 0, 8, 1, 0, 0, 0, 2, 7, 1]);
        var data = DatasetLoader.LoadIdxSplit(dir, "x");
        Assert.Equal([1f, 2f, 250f, 4f], data.Features);
        Assert.Equal([7, 1], data.Labels);
        Assert.Equal(new Shape(1, 2), data.SampleShape);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 8, 1, 0, 0, 0, 2, 3, 4 }, "declares 1 dimensions; expected 0x00000803")]
    [InlineData(new byte[] { 0, 0, 0x0D, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0 }, "element type 0x0D is not supported")]
    [InlineData(new byte[] { 1, 0, 8, 3 }, "not an IDX file")]
    [InlineData(new byte[] { 0, 0 }, "truncated")]
    public void LoadIdx_BadHeader_ThrowsNamingFile(byte[] bytes, string fragment)
    {
        string dir = SharedData.TempFolder();
        string images = Path.Combine(dir, "x-images-idx3-ubyte");
        File.WriteAllBytes(images, bytes);
        File.WriteAllBytes(Path.Combine(dir, "x-labels-idx1-ubyte"), [0, 0, 8, 1, 0, 0, 0, 1, 3]);
        var e = Assert.Throws<InvalidDatasetException>(() => DatasetLoader.LoadIdxSplit(dir, "x"));
        Assert.Contains(images, e.Message);
        Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void LoadIdx_LabelCountDiffers_Throws()
    {
        string dir = SharedData.TempFolder();
        File.WriteAllBytes(Path.Combine(dir, "x-images-idx3-ubyte"), [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2]);
        File.WriteAllBytes(Path.Combine(dir, "x-labels-idx1-ubyte"), [0, 0, 8, 1, 0, 0, 0, 1, 3]);
        var e = Assert.Throws<InvalidDatasetException>(() => DatasetLoader.LoadIdxSplit(dir, "x"));
        Assert.Contains("1 labels for 2 images", e.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void NumpyRead_AllVersions_ReadsFloat32(int major)
    {
        string path = Path.Combine(SharedData.TempFolder(), "a.npy");
        File.WriteAllBytes(path, NpyBytes.Build("<f4", "(2, 3)", NpyBytes.Floats(1, 2, 3, 4, 5, 6), major));
        var a = NumpyFile.Read(path);
        Assert.Equal(new Shape(2, 3), a.Shape);
        Assert.Equal(DType.F32, a.DType);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], a.ToSingleArray());
    }

    [Fact]
    public void NumpyRead_FortranOrder_TransposesToCOrder()
    {
        string path = Path.Combine(SharedData.TempFolder(), "f.npy");
        // The C-order matrix [[1,2,3],[4,5,6]] stored column-major is 1,4,2,5,3,6.
        File.WriteAllBytes(path, NpyBytes.Build("<f8", "(2, 3)", NpyBytes.Doubles(1, 4, 2, 5, 3, 6), fortran: true));
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], NumpyFile.Read(path).ToSingleArray());
    }

    [Theory]
    [InlineData("<f4", "(2, 2)", 15, "needs 16 data bytes but the file has 15")]
    [InlineData(">f4", "(1,)", 4, "big-endian")]
    [InlineData("<c8", "(1,)", 8, "dtype '<c8' is not supported")]
    [InlineData("<f4", "(1, -2)", 0, "not a non-negative integer")]
    public void NumpyRead_BadFile_ThrowsNamingFile(string descr, string shape, int dataBytes, string fragment)
    {
        string path = Path.Combine(SharedData.TempFolder(), "bad.npy");
        File.WriteAllBytes(path, NpyBytes.Build(descr, shape, new byte[dataBytes]));
        var e = Assert.Throws<InvalidDatasetException>(() => NumpyFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(fragment, e.Message);
    }

    [Theory]
    [InlineData(CompressionLevel.NoCompression)]
    [InlineData(CompressionLevel.Optimal)]
    public void LoadNpz_StoredOrDeflated_ReadsFeaturesAndLabels(CompressionLevel level)
    {
        string path = Path.Combine(SharedData.TempFolder(), "d.npz");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            Write(zip, "x.npy", NpyBytes.Build("|u1", "(3, 2)", [0, 1, 2, 3, 4, 255]), level);
            Write(zip, "y.npy", NpyBytes.Build("<i8", "(3,)", NpyBytes.Longs(2, 0, 9)), level);
        }
        var data = DatasetLoader.LoadNpz(path);
        Assert.Equal([0f, 1f, 2f, 3f, 4f, 255f], data.Features);
        Assert.Equal([2, 0, 9], data.Labels);
        Assert.Equal(new Shape(2), data.SampleShape);
    }

    [Fact]
    public void LoadNpz_MissingKey_ListsKeys()
    {
        string path = Path.Combine(SharedData.TempFolder(), "d.npz");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
            Write(zip, "features.npy", NpyBytes.Build("<f4", "(1, 1)", NpyBytes.Floats(1)), CompressionLevel.Optimal);
        var e = Assert.Throws<InvalidDatasetException>(() => DatasetLoader.LoadNpz(path));
        Assert.Contains("no array 'x'", e.Message);
        Assert.Contains("features", e.Message);
    }

    [Fact]
    public void LoadNpy_Int32Labels_PairsWithFeatures()
    {
        string dir = SharedData.TempFolder();
        File.WriteAllBytes(Path.Combine(dir, "x.npy"), NpyBytes.Build("<f4", "(2, 1)", NpyBytes.Floats(0.25f, -3)));
        File.WriteAllBytes(Path.Combine(dir, "y.npy"), NpyBytes.Build("<i4", "(2,)", NpyBytes.Ints(4, 5)));
        var data = DatasetLoader.LoadNpy(Path.Combine(dir, "x.npy"), Path.Combine(dir, "y.npy"));
        Assert.Equal([0.25f, -3f], data.Features);
        Assert.Equal([4, 5], data.Labels);
    }

    private static void Write(ZipArchive zip, string name, byte[] bytes, CompressionLevel level)
    {
        using var s = zip.CreateEntry(name, level).Open();
        s.Write(bytes);
    }

    private static void WriteGzip(string path, byte[] bytes)
    {
        using var gz = new GZipStream(File.Create(path), CompressionLevel.Optimal);
        gz.Write(bytes);
    }

    private static long PixelSum(ReadOnlySpan<float> values)
    {
        long sum = 0;
        foreach (float v in values) sum += (long)v;
        return sum;
    }

    private static int[] Histogram(int[] labels, int classes)
    {
        var h = new int[classes];
        foreach (int l in labels) h[l]++;
        return h;
    }

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
}
