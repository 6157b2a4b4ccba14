using Google.Protobuf;
using WeightSpace.Formats.Onnx;
using WeightSpace.Formats.Onnx.Proto;
using static WeightSpace.Tests.Formats.Onnx.OnnxTestModels;

namespace WeightSpace.Tests.Formats.Onnx;

/// <summary>Malformed, inconsistent and hostile models: each is refused with an <see cref="InvalidCheckpointException"/>
/// naming the file and, where one is at fault, the tensor.</summary>
public sealed class OnnxReaderHostileTests
{
    private static InvalidCheckpointException AssertRejected(string path, string? tensor, params string[] fragments)
    {
        var e = Assert.Throws<InvalidCheckpointException>(() =>
        {
            using var model = OnnxReader.Open(path);
            foreach (var t in model.Tensors) model.Read(t.Name).Dispose();
        });
        Assert.Contains(path, e.Message);
        Assert.Equal(tensor, e.TensorName);
        foreach (string f in fragments) Assert.Contains(f, e.Message);
        return e;
    }

    private static string ModelFolderInside(out string parent)
    {
        parent = SharedData.TempFolder();
        string folder = Path.Combine(parent, "model");
        Directory.CreateDirectory(folder);
        return folder;
    }

    [Theory]
    [InlineData("../secret.bin")]
    [InlineData("..\\secret.bin")]
    [InlineData("sub/../../secret.bin")]
    public void Open_ExternalLocationEscapingFolder_Rejected(string location)
    {
        string folder = ModelFolderInside(out string parent);
        File.WriteAllBytes(Path.Combine(parent, "secret.bin"), new byte[16]);
        Directory.CreateDirectory(Path.Combine(folder, "sub"));
        string path = Write(Model(External("w", [4], location)), folder);
        AssertRejected(path, "w", location, "outside the model's folder");
    }

    [Fact]
    public void Open_ExternalAbsoluteLocation_Rejected()
    {
        string folder = ModelFolderInside(out string parent);
        string secret = Path.Combine(parent, "secret.bin");
        File.WriteAllBytes(secret, new byte[16]);
        string path = Write(Model(External("w", [4], secret)), folder);
        AssertRejected(path, "w", secret, "absolute path");
    }

    [Fact]
    public void Open_ExternalSymlinkLeadingOut_Rejected()
    {
        string folder = ModelFolderInside(out string parent);
        string secret = Path.Combine(parent, "secret.bin");
        File.WriteAllBytes(secret, new byte[16]);
        File.CreateSymbolicLink(Path.Combine(folder, "link.bin"), secret);
        string path = Write(Model(External("w", [4], "link.bin")), folder);
        AssertRejected(path, "w", "link.bin", "symbolic link");
    }

    [Fact]
    public void Open_ExternalMissingFile_Rejected()
    {
        string path = Write(Model(External("w", [4], "weights.bin")));
        AssertRejected(path, "w", "weights.bin", "does not exist");
    }

    [Theory]
    [InlineData(8L, 16L, "past the end")]     // 8 + 16 > 16 bytes
    [InlineData(20L, null, "past the end")]   // offset beyond the file
    [InlineData(0L, 12L, "needs 16")]         // length ≠ 4 floats
    [InlineData(4L, null, "needs 16")]        // no length: the rest of the file, 12 bytes
    public void Open_ExternalRangeInconsistent_Rejected(long offset, long? length, string fragment)
    {
        string folder = SharedData.TempFolder();
        File.WriteAllBytes(Path.Combine(folder, "weights.bin"), new byte[16]);
        string path = Write(Model(External("w", [4], "weights.bin", offset, length)), folder);
        AssertRejected(path, "w", "weights.bin", fragment);
    }

    [Fact]
    public void Open_ExternalOffsetNotANumber_Rejected()
    {
        string folder = SharedData.TempFolder();
        File.WriteAllBytes(Path.Combine(folder, "weights.bin"), new byte[16]);
        var tensor = External("w", [4], "weights.bin");
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "-4" });
        AssertRejected(Write(Model(tensor), folder), "w", "'offset' is '-4'");
    }

    [Fact]
    public void Read_ExternalTensorsSharingAFile_ReturnsTheirSlices()
    {
        string folder = SharedData.TempFolder();
        float[] values = [1, 2, 3, 4, 5, 6];
        File.WriteAllBytes(Path.Combine(folder, "shared.bin"), System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        File.WriteAllBytes(Path.Combine(folder, "whole.bin"), System.Runtime.InteropServices.MemoryMarshal.AsBytes(new float[] { 7, 8 }.AsSpan()).ToArray());
        Directory.CreateDirectory(Path.Combine(folder, "sub"));
        File.Copy(Path.Combine(folder, "whole.bin"), Path.Combine(folder, "sub", "whole.bin"));
        string path = Write(Model(
            External("a", [2], "shared.bin", 0, 8),
            External("b", [2, 2], "shared.bin", 8, 16),
            External("c", [2], "whole.bin"),
            External("d", [2], "./sub/whole.bin")), folder);
        using var model = OnnxReader.Open(path);
        Assert.Equal([1f, 2f], model.ReadSingle("a"));
        Assert.Equal([3f, 4f, 5f, 6f], model.ReadSingle("b"));
        Assert.Equal([7f, 8f], model.ReadSingle("c"));
        Assert.Equal([7f, 8f], model.ReadSingle("d"));
        Assert.Equal(3, model.ExternalFileCount);
        Assert.Null(model.Weights[2].External!.Offset);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(50)]
    [InlineData(1000)]
    [InlineData(-1)]
    public void Open_TruncatedRealModel_Rejected(int cut)
    {
        var bytes = File.ReadAllBytes(SharedData.Require("digits_mlp/mlp_seed0.onnx"));
        int length = cut > 0 ? cut : bytes.Length + cut;
        AssertRejected(Write(bytes[..length]), null, "malformed protobuf");
    }

    [Theory]
    [InlineData(new byte[] { 0x08, 0x80 }, "varint runs past the end")]                              // ir_version cut mid-varint
    [InlineData(new byte[] { 0x08, 0x08, 0x3A, 0x7F, 0x00 }, "length 127 runs past the end")]         // graph longer than the file
    [InlineData(new byte[] { 0x08, 0x08, 0x3A, 0x03, 0x2A, 0x10, 0x00 }, "length 16 runs past the end")] // initializer longer than its graph
    [InlineData(new byte[] { 0x08, 0x08, 0x0B, 0x00 }, "group wire type")]
    [InlineData(new byte[] { 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, "longer than 10 bytes")]
    [InlineData(new byte[] { 0x08, 0x08 }, "no graph")]
    public void Open_MalformedWireFormat_Rejected(byte[] bytes, string fragment) =>
        AssertRejected(Write(bytes), null, fragment);

    [Fact]
    public void Open_EmptyFile_Rejected() => AssertRejected(Write([]), null, "empty");

    [Fact]
    public void Open_DimsProductOverflows_Rejected()
    {
        var t = new TensorProto { Name = "huge", DataType = 1, Dims = { 1L << 40, 1L << 40 }, RawData = ByteString.Empty };
        AssertRejected(Write(Model(t)), "huge", "overflows");
    }

    [Fact]
    public void Open_ByteCountOverflows_Rejected()
    {
        var t = new TensorProto { Name = "huge", DataType = 11, Dims = { 1L << 31, 1L << 31 }, RawData = ByteString.Empty };
        AssertRejected(Write(Model(t)), "huge", "invalid");
    }

    [Fact]
    public void Open_NegativeDim_Rejected()
    {
        var t = new TensorProto { Name = "neg", DataType = 1, Dims = { -2 }, RawData = ByteString.Empty };
        AssertRejected(Write(Model(t)), "neg", "negative");
    }

    [Fact]
    public void Open_RawDataLengthMismatch_Rejected()
    {
        var t = Floats("w", [2, 2], 1, 2, 3);
        AssertRejected(Write(Model(t)), "w", "raw_data has 12 bytes but F32[2, 2] needs 16");
    }

    [Fact]
    public void Open_TypedFieldForWrongType_Rejected()
    {
        var t = new TensorProto { Name = "w", DataType = 1, Dims = { 2 }, Int64Data = { 1, 2 } };
        AssertRejected(Write(Model(t)), "w", "int64_data", "float_data");
    }

    [Fact]
    public void Open_TypedFieldCountMismatch_Rejected()
    {
        var t = new TensorProto { Name = "w", DataType = 1, Dims = { 3 }, FloatData = { 1, 2 } };
        AssertRejected(Write(Model(t)), "w", "2 values in float_data", "3 elements");
    }

    [Fact]
    public void Open_RawAndTypedTogether_Rejected()
    {
        var t = Floats("w", [1], 1f);
        t.FloatData.Add(1f);
        AssertRejected(Write(Model(t)), "w", "both raw_data and typed field float_data");
    }

    [Fact]
    public void Open_NoDataForNonEmptyShape_Rejected()
    {
        var t = new TensorProto { Name = "w", DataType = 1, Dims = { 3 } };
        AssertRejected(Write(Model(t)), "w", "no raw_data");
    }

    private static GraphProto Nested(int depth)
    {
        var leaf = new GraphProto { Name = "leaf", Initializer = { Floats("deep", [1], 42f) } };
        var g = leaf;
        for (int i = depth; i >= 1; i--)
            g = new GraphProto { Name = $"g{i}", Node = { If($"If_{i}", g, new GraphProto { Name = "empty" }) } };
        return g;
    }

    [Fact]
    public void Open_SubgraphsNestedBeyondLimit_Rejected()
    {
        var model = Model();
        model.Graph = Nested(33);
        AssertRejected(Write(model), null, "MaxSubgraphDepth (32)");
    }

    [Fact]
    public void Open_SubgraphsNestedAtLimit_ReadsInnermostWeight()
    {
        var model = Model();
        model.Graph = Nested(32);
        using var m = OnnxReader.Open(Write(model));
        Assert.Equal([42f], m.ReadSingle("deep"));
        Assert.Equal(32, m.Weights.Single().GraphPath.Count(c => c == '/'));
        Assert.StartsWith("graph/If_1.then_branch/If_2.then_branch/", m.Weights.Single().GraphPath);
    }

    [Fact]
    public void Open_SileroV5WithLowDepthLimit_Rejected()
    {
        string path = SharedData.Require("onnx/silero_vad/silero_vad_v5.onnx");
        Assert.Throws<InvalidCheckpointException>(() => OnnxReader.Open(path, new OnnxOptions { MaxSubgraphDepth = 3 }));
        using var ok = OnnxReader.Open(path, new OnnxOptions { MaxSubgraphDepth = 4 });
        Assert.Equal(341, ok.Weights.Count);
    }

    [Fact]
    public void Open_MoreTensorsThanLimit_Rejected()
    {
        string path = SharedData.Require("digits_mlp/mlp_seed0.onnx");
        var e = Assert.Throws<InvalidCheckpointException>(() => OnnxReader.Open(path, new OnnxOptions { MaxTensors = 5 }));
        Assert.Contains("MaxTensors", e.Message);
        using var ok = OnnxReader.Open(path, new OnnxOptions { MaxTensors = 6 });
    }

    [Fact]
    public void Open_MissingModelFile_ThrowsFileNotFound() =>
        Assert.Throws<FileNotFoundException>(() => OnnxReader.Open(Path.Combine(SharedData.TempFolder(), "none.onnx")));
}
