using System.Buffers.Binary;
using WeightSpace.Formats.PyTorch;

namespace WeightSpace.Tests.Formats.PyTorch;

/// <summary>Hand-made hostile files: each is refused with a typed exception that names what is wrong.</summary>
public sealed class PyTorchHostileTests
{
    private static readonly Dictionary<string, int> OneStorage = new() { ["0"] = 12 };

    private static string Write(byte[] bytes, string name = "model.pt")
    {
        string path = Path.Combine(SharedData.TempFolder(), name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static InvalidCheckpointException Refused(byte[] bytes, PyTorchOptions? options = null) =>
        Assert.ThrowsAny<InvalidCheckpointException>(() =>
        {
            using var store = PyTorchReader.Open(Write(bytes), options);
            foreach (var t in store.Tensors) store.Read(t.Name).Dispose();
        });

    private static byte[] PickleZip(byte[] pickle) =>
        ZipBuilder.Build([new("archive/data.pkl", pickle), new("archive/data/0", new byte[16])]);

    [Fact]
    public void Open_HandMadeZip_ReadsStridedViewsByHand()
    {
        // Storage 0..11; a [3,2] view at offset 1 with strides [4,2] holds 1,3, 5,7, 9,11.
        var bytes = TorchFiles.StateDictZip([
            new("w", "0", 12, 0, [3, 4], [4, 1]),
            new("v", "0", 12, 1, [3, 2], [4, 2]),
            new("e", "0", 12, 2, [2, 3], [0, 1]),
        ], OneStorage);
        using var store = PyTorchReader.Open(Write(bytes));
        Assert.Equal(["w", "v", "e"], store.Tensors.Select(t => t.Name));
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (float)i), store.ReadSingle("w"));
        Assert.Equal([1f, 3, 5, 7, 9, 11], store.ReadSingle("v"));
        Assert.Equal([2f, 3, 4, 2, 3, 4], store.ReadSingle("e"));
        Assert.Equal("archive", store.Metadata["archive_name"]);
        Assert.Equal("3", store.Metadata["zip_version"]);
    }

    [Fact]
    public void Open_Zip64Directory_ReadsLikeThePlainOne()
    {
        var tensors = new List<TensorSpec> { new("w", "0", 12, 0, [3, 4], [4, 1]), new("t", "0", 12, 0, [4, 3], [1, 4]) };
        using var plain = PyTorchReader.Open(Write(TorchFiles.StateDictZip(tensors, OneStorage)));
        using var zip64 = PyTorchReader.Open(Write(TorchFiles.StateDictZip(tensors, OneStorage, zip64: true)));
        Assert.Equal(plain.ReadSingle("w"), zip64.ReadSingle("w"));
        Assert.Equal([0f, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11], zip64.ReadSingle("t"));
    }

    [Fact]
    public void Open_TruncatedZip_ThrowsInvalidCheckpoint()
    {
        byte[] whole = File.ReadAllBytes(SharedData.Require("torch/mlp_state_dict.pt"));
        var ex = Refused(whole[..(whole.Length / 2)]);
        Assert.Contains("end-of-central-directory", ex.Message);
    }

    [Fact]
    public void Open_ZipEntryOffsetPastEnd_ThrowsInvalidCheckpoint()
    {
        byte[] bytes = TorchFiles.StateDictZip([new("w", "0", 12, 0, [12], [1])], OneStorage);
        // Point the first central directory record's local header offset past the end of the file.
        int cd = bytes.AsSpan().IndexOf(new byte[] { 0x50, 0x4b, 0x01, 0x02 });
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(cd + 42), 0x7FFF0000);
        var ex = Refused(bytes);
        Assert.Contains("local header offset 2147418112", ex.Message);
    }

    [Fact]
    public void Open_CompressedStorage_ThrowsInvalidCheckpointNamingTheRecord()
    {
        var ex = Refused(TorchFiles.StateDictZip([new("w", "0", 12, 0, [12], [1])], OneStorage, storageMethod: 8));
        Assert.Contains("'archive/data/0' is compressed (method 8)", ex.Message);
    }

    [Fact]
    public void Open_StorageTooSmallForView_ThrowsNamingTheTensor()
    {
        var ex = Refused(TorchFiles.StateDictZip([new("fc.weight", "0", 12, 1, [3, 4], [4, 1])], OneStorage));
        Assert.Equal("fc.weight", ex.TensorName);
        Assert.Contains("reaches element 12", ex.Message);
    }

    [Fact]
    public void Open_StorageLargerThanItsRecord_ThrowsInvalidCheckpoint()
    {
        var ex = Refused(TorchFiles.StateDictZip([new("w", "0", 13, 0, [13], [1])], OneStorage));
        Assert.Contains("claims 13 elements of F32 but its record holds 48 bytes", ex.Message);
    }

    [Fact]
    public void Open_NegativeStride_ThrowsNamingTheTensor()
    {
        var ex = Refused(TorchFiles.StateDictZip([new("flip", "0", 12, 11, [12], [-1])], OneStorage));
        Assert.Equal("flip", ex.TensorName);
        Assert.Contains("negative", ex.Message);
    }

    [Fact]
    public void Open_HugeShapeOverflow_ThrowsNamingTheTensor()
    {
        var ex = Refused(TorchFiles.StateDictZip([new("huge", "0", 12, 0, [1L << 40, 1L << 40], [0, 0])], OneStorage));
        Assert.True("huge" == ex.TensorName, ex.Message);
        Assert.Contains("overflows", ex.Message);
    }

    [Fact]
    public void Open_HugeExpandedView_RefusedWhenGathered()
    {
        // A stride-0 view of one element that would need 4 GiB once gathered: listed, but reading it is refused.
        byte[] bytes = TorchFiles.StateDictZip([new("wide", "0", 12, 0, [1L << 30], [0])], OneStorage);
        using var store = PyTorchReader.Open(Write(bytes));
        Assert.Equal(1L << 30, store.GetInfo("wide").ElementCount);
        var ex = Assert.Throws<InvalidCheckpointException>(() => store.Read("wide"));
        Assert.Contains("MaxGatherBytes", ex.Message);
    }

    [Fact]
    public void Open_DeepNesting_FailsCleanlyWithoutStackOverflow()
    {
        const int depth = 100_000;
        var p = new PickleBuilder().Proto(2);
        for (int i = 0; i < depth; i++) p.EmptyList();
        for (int i = 1; i < depth; i++) p.Append();
        var ex = Refused(PickleZip(p.Stop().ToArray()));
        Assert.Contains("MaxNestingDepth (1000)", ex.Message);
    }

    [Fact]
    public void Open_SharedContainerExplosion_StopsAtTheItemBudget()
    {
        // l0 = []; l(k+1) = [lk] * 10, 30 levels: 10^30 paths through 31 small lists.
        var p = new PickleBuilder().Proto(2).EmptyList().Op(0x71, 0);
        for (int k = 0; k < 30; k++)
        {
            p.EmptyList().Mark();
            for (int j = 0; j < 10; j++) p.Op(0x68, (byte)k);
            p.Op(0x65).Op(0x71, (byte)(k + 1));
        }
        var ex = Refused(PickleZip(p.Stop().ToArray()));
        Assert.Contains("MaxContainerItems", ex.Message);
    }

    [Fact]
    public void Open_SelfContainingList_OpensWithNoTensors()
    {
        // l = []; l.append(l)
        var p = new PickleBuilder().Proto(2).EmptyList().Op(0x71, 0).Op(0x68, 0).Append().Stop();
        using var store = PyTorchReader.Open(Write(PickleZip(p.ToArray())));
        Assert.Empty(store.Tensors);
    }

    [Fact]
    public void Open_UnknownOpcode_ThrowsNamingTheByteOffset()
    {
        byte[] bytes = PickleZip(new PickleBuilder().Proto(2).Op(0xff).Stop().ToArray());
        var ex = Refused(bytes);
        Assert.Contains("pickle byte 66: unknown or unsupported opcode 0xff", ex.Message); // data.pkl data starts at 64
    }

    [Fact]
    public void Open_MemoMiss_ThrowsInvalidCheckpoint()
    {
        var ex = Refused(PickleZip(new PickleBuilder().Proto(2).Op(0x68, 5).Stop().ToArray()));
        Assert.Contains("memo miss: index 5", ex.Message);
    }

    [Fact]
    public void Open_StackUnderflow_ThrowsInvalidCheckpoint()
    {
        var ex = Refused(PickleZip(new PickleBuilder().Proto(2).Append().Stop().ToArray()));
        Assert.Contains("stack underflow", ex.Message);
    }

    [Fact]
    public void Open_PickleWithoutStop_ThrowsTruncated()
    {
        var ex = Refused(PickleZip(new PickleBuilder().Proto(2).EmptyList().ToArray()));
        Assert.Contains("truncated", ex.Message);
    }

    [Fact]
    public void Open_PickleOverLimit_ThrowsNamingTheOption()
    {
        byte[] bytes = TorchFiles.StateDictZip([new("w", "0", 12, 0, [12], [1])], OneStorage);
        var ex = Refused(bytes, new PyTorchOptions { MaxPickleBytes = 64 });
        Assert.Contains("MaxPickleBytes (64)", ex.Message);
    }

    [Fact]
    public void Open_CallingAStorageClass_IsUnsafe()
    {
        var p = new PickleBuilder().Proto(2).Global("torch", "FloatStorage").Op(0x29).Reduce().Stop();
        var ex = Assert.Throws<UnsafePickleException>(() => PyTorchReader.Open(Write(PickleZip(p.ToArray()))));
        Assert.Equal("torch.FloatStorage", ex.Global);
    }

    [Theory]
    [InlineData(new byte[] { 0x82, 0x01 }, "copyreg extension 1")] // EXT1
    [InlineData(new byte[] { 0x69, (byte)'o', (byte)'s', 0x0a, (byte)'s', (byte)'y', (byte)'s', (byte)'t', (byte)'e', (byte)'m', 0x0a }, "os.system")] // INST
    public void Open_ImportingOpcodes_AreUnsafe(byte[] opcode, string global)
    {
        var p = new PickleBuilder().Proto(2).Op(opcode).Stop();
        var ex = Assert.Throws<UnsafePickleException>(() => PyTorchReader.Open(Write(PickleZip(p.ToArray()))));
        Assert.Equal(global, ex.Global);
    }

    [Fact]
    public void Open_LegacyStoragePastEnd_ThrowsInvalidCheckpoint()
    {
        byte[] whole = File.ReadAllBytes(SharedData.Require("torch/mlp_state_dict_legacy.pth"));
        var ex = Refused(whole[..^10]);
        Assert.Contains("runs past the end of the file", ex.Message);
    }

    [Fact]
    public void Open_LegacyElementCountDisagreesWithPickle_ThrowsInvalidCheckpoint()
    {
        using var doc = SharedData.Json("torch/shared_storage_legacy.pt.expected.json");
        long countAt = doc.RootElement.GetProperty("format_details").GetProperty("storages_offset").GetInt64();
        byte[] bytes = File.ReadAllBytes(SharedData.Require("torch/shared_storage_legacy.pt"));
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan((int)countAt), 1L << 60);
        var ex = Refused(bytes);
        Assert.Contains($"has {1L << 60} elements in the file but 24 in the pickle", ex.Message);
    }

    [Theory]
    [InlineData(new byte[] { (byte)'P', (byte)'K', 3, 4, 0, 0, 0, 0 }, true)]
    [InlineData(new byte[] { 0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46 }, true)]
    [InlineData(new byte[] { 0x80, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }, false)] // safetensors header length 640
    [InlineData(new byte[] { 0x80, 0x04, 0x95, 0x20, 0, 0, 0, 0, 0, 0, 0, 0x8c, 0x0a }, false)] // plain protocol-4 pickle
    [InlineData(new byte[] { 0x08, 0x00, 0x12, 0x00 }, false)]
    public void LooksLikePyTorch_Head_RecognisesBothContainers(byte[] head, bool expected) =>
        Assert.Equal(expected, PyTorchReader.LooksLikePyTorch(head, 1000));

    [Fact]
    public void LooksLikePyTorch_EveryFixture_IsRecognised()
    {
        foreach (string file in Directory.GetFiles(SharedData.Require("torch"), "*.p*").Concat(Directory.GetFiles(SharedData.Require("torch"), "*.bin")))
        {
            if (file.EndsWith(".json", StringComparison.Ordinal) || file.EndsWith(".py", StringComparison.Ordinal)) continue;
            byte[] head = File.ReadAllBytes(file)[..16];
            Assert.True(PyTorchReader.LooksLikePyTorch(head, new FileInfo(file).Length), file);
        }
    }
}
