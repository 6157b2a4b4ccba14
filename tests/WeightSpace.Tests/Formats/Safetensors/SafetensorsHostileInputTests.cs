using System.Text;
using WeightSpace.Formats.Safetensors;
using static WeightSpace.Tests.Formats.Safetensors.SafetensorsFiles;

namespace WeightSpace.Tests.Formats.Safetensors;

/// <summary>One test per validation failure, as safetensors' own test suite has: each must be an
/// <see cref="InvalidCheckpointException"/> whose message names the file and, where one is at fault, the tensor.</summary>
public sealed class SafetensorsHostileInputTests
{
    private readonly string _folder = SharedData.TempFolder();

    private static InvalidCheckpointException AssertInvalid(string path, string? tensor, string detail, SafetensorsOptions? options = null)
    {
        var e = Assert.Throws<InvalidCheckpointException>(() => SafetensorsReader.Open(path, options).Dispose());
        Assert.StartsWith(path + ":", e.Message);
        Assert.True(tensor == e.TensorName, e.Message);
        if (tensor is not null) Assert.Contains($"'{tensor}'", e.Message);
        Assert.Contains(detail, e.Message);
        return e;
    }

    [Fact]
    public void Open_FileShorterThan8Bytes_Throws()
    {
        string path = Path.Combine(_folder, "short.safetensors");
        File.WriteAllBytes(path, [2, 0, 0, 0]);
        AssertInvalid(path, null, "file has 4 bytes");
    }

    [Fact]
    public void Open_HeaderLengthPastEndOfFile_Throws() =>
        AssertInvalid(Write(_folder, "eof.safetensors", "{}", declaredLength: 1000), null, "header length 1000 runs past the end of the file (10 bytes");

    [Fact]
    public void Open_HeaderLongerThanMaxHeaderBytes_Throws() =>
        AssertInvalid(Write(_folder, "big.safetensors", "{" + new string(' ', 100) + "}"), null, "header length 102 exceeds MaxHeaderBytes (64)",
            new SafetensorsOptions { MaxHeaderBytes = 64 });

    [Fact]
    public void Open_HugeHeaderLength_ThrowsWithoutAllocating() =>
        AssertInvalid(Write(_folder, "huge.safetensors", "{}", declaredLength: ulong.MaxValue), null, $"header length {ulong.MaxValue} exceeds MaxHeaderBytes");

    [Fact]
    public void Open_InvalidUtf8_Throws() =>
        AssertInvalid(WriteRaw(_folder, "utf8.safetensors", [(byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}'], [], 8), null, "not valid UTF-8");

    [Fact]
    public void Open_InvalidJson_Throws() =>
        AssertInvalid(Write(_folder, "json.safetensors", "{\"a\":{\"dtype\":\"F32\",}}"), "a", "not valid JSON");

    [Fact]
    public void Open_HeaderNotAnObject_Throws() =>
        AssertInvalid(Write(_folder, "array.safetensors", "[1,2]"), null, "not a JSON object");

    [Fact]
    public void Open_JsonDeeperThanMaxDepth_Throws() =>
        AssertInvalid(Write(_folder, "deep.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4],\"x\":[[[[[[[[[[1]]]]]]]]]]}}", new byte[4]),
            "a", "nests deeper than MaxJsonDepth (8)");

    [Fact]
    public void Open_UnknownDtype_Throws() =>
        AssertInvalid(Write(_folder, "dtype.safetensors", "{" + Entry("fc1.weight", "F128", "1", 0, 16) + "}", new byte[16]), "fc1.weight", "unknown dtype 'F128'");

    [Fact]
    public void Open_DuplicateName_Throws() =>
        AssertInvalid(Write(_folder, "dup.safetensors", "{" + Entry("w", "F32", "1", 0, 4) + "," + Entry("w", "F32", "1", 4, 8) + "}", new byte[8]), "w", "duplicate name");

    [Fact]
    public void Open_NonIntegerDimension_Throws() =>
        AssertInvalid(Write(_folder, "float.safetensors", "{" + Entry("w", "F32", "2.5", 0, 10) + "}", new byte[10]), "w", "shape value 2.5 is not a 64-bit integer");

    [Fact]
    public void Open_StringDimension_Throws() =>
        AssertInvalid(Write(_folder, "string.safetensors", "{" + Entry("w", "F32", "\"2\"", 0, 8) + "}", new byte[8]), "w", "shape must hold integers, found a string");

    [Fact]
    public void Open_NegativeDimension_Throws() =>
        AssertInvalid(Write(_folder, "negative.safetensors", "{" + Entry("w", "F32", "-2", 0, 8) + "}", new byte[8]), "w", "shape value -2 is negative");

    [Fact]
    public void Open_DimensionsWhoseProductOverflows_Throws() =>
        AssertInvalid(Write(_folder, "overflow.safetensors", "{" + Entry("w", "F32", "4294967296,4294967296", 0, 4) + "}", new byte[4]), "w", "more than 2^63 elements");

    [Fact]
    public void Open_ElementsTimesDtypeSizeOverflows_Throws() =>
        AssertInvalid(Write(_folder, "overflow2.safetensors", "{" + Entry("w", "F64", "2305843009213693952", 0, 8) + "}", new byte[8]), "w", "F64[2305843009213693952] needs more than 2^63 bytes");

    [Fact]
    public void Open_MissingField_Throws() =>
        AssertInvalid(Write(_folder, "missing.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}"), "w", "has no data_offsets");

    [Fact]
    public void Open_ThreeOffsets_Throws() =>
        AssertInvalid(Write(_folder, "offsets3.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", new byte[4]), "w", "data_offsets must hold 2 integers");

    [Fact]
    public void Open_MetadataValueNotString_Throws() =>
        AssertInvalid(Write(_folder, "meta.safetensors", "{\"__metadata__\":{\"epoch\":3}}"), null, "__metadata__ value of 'epoch' must be a string");

    [Fact]
    public void Open_OverlappingOffsets_Throws() =>
        AssertInvalid(Write(_folder, "overlap.safetensors", "{" + Entry("a", "F32", "4", 0, 16) + "," + Entry("b", "F32", "4", 8, 24) + "}", new byte[24]),
            "b", "data_offsets [8, 24] overlap the previous tensor, which ends at 16");

    [Fact]
    public void Open_GapBetweenTensors_Throws() =>
        AssertInvalid(Write(_folder, "gap.safetensors", "{" + Entry("a", "F32", "1", 0, 4) + "," + Entry("b", "F32", "1", 8, 12) + "}", new byte[12]),
            "b", "data_offsets [8, 12] leave a gap: the previous tensor ends at 4");

    [Fact]
    public void Open_FirstTensorNotAtZero_Throws() =>
        AssertInvalid(Write(_folder, "start.safetensors", "{" + Entry("a", "F32", "1", 4, 8) + "}", new byte[8]), "a", "leave a gap: the previous tensor ends at 0");

    [Fact]
    public void Open_OffsetsOutOfBounds_Throws() =>
        AssertInvalid(Write(_folder, "bounds.safetensors", "{" + Entry("a", "F32", "4", 0, 16) + "}", new byte[8]), "a", "run past the byte buffer (8 bytes)");

    [Fact]
    public void Open_EndBeforeBegin_Throws() =>
        AssertInvalid(Write(_folder, "reversed.safetensors", "{" + Entry("a", "F32", "1", 4, 0) + "}", new byte[4]), "a", "end before they begin");

    [Fact]
    public void Open_DtypeTimesShapeDiffersFromRange_Throws() =>
        AssertInvalid(Write(_folder, "size.safetensors", "{" + Entry("fc1.weight", "F32", "2,2", 0, 4) + "}", new byte[4]), "fc1.weight", "has 4 bytes but F32[2,2] needs 16");

    [Fact]
    public void Open_TrailingBytesAfterLastTensor_Throws() =>
        AssertInvalid(Write(_folder, "trailing.safetensors", "{" + Entry("a", "F32", "1", 0, 4) + "}", new byte[12]), null, "tensors end at byte 4 of the buffer but the buffer has 12 bytes");

    [Fact]
    public void Open_ContentAfterHeaderObject_Throws() =>
        AssertInvalid(Write(_folder, "after.safetensors", "{} {}"), null, "not valid JSON");

    // Sharded checkpoints: the index is untrusted too.
    private string WriteShard(string name, params (string Tensor, int Floats)[] tensors)
    {
        var entries = new List<string>();
        long offset = 0;
        foreach (var (tensor, floats) in tensors)
        {
            entries.Add(Entry(tensor, "F32", floats.ToString(), offset, offset + 4 * floats));
            offset += 4 * floats;
        }
        return Write(_folder, name, "{" + string.Join(",", entries) + "}", new byte[offset]);
    }

    private string WriteIndex(params (string Tensor, string Shard)[] map)
    {
        string weightMap = string.Join(",", map.Select(m => $"\"{m.Tensor}\":\"{m.Shard}\""));
        string path = Path.Combine(_folder, "model.safetensors.index.json");
        File.WriteAllText(path, $"{{\"metadata\":{{\"total_size\":8}},\"weight_map\":{{{weightMap}}}}}", Encoding.UTF8);
        return path;
    }

    [Fact]
    public void Open_IndexNamesTensorMissingFromShard_Throws()
    {
        WriteShard("s1.safetensors", ("a", 1));
        string index = WriteIndex(("a", "s1.safetensors"), ("ghost", "s1.safetensors"));
        AssertInvalid(index, "ghost", "the index lists it in shard 's1.safetensors', which does not hold it");
    }

    [Fact]
    public void Open_IndexNamesMissingShard_Throws()
    {
        WriteShard("s1.safetensors", ("a", 1));
        string index = WriteIndex(("a", "s1.safetensors"), ("b", "s2.safetensors"));
        AssertInvalid(index, "b", "shard 's2.safetensors' named by the index does not exist");
    }

    [Fact]
    public void Open_ShardTensorNotInIndex_Throws()
    {
        string shard = WriteShard("s1.safetensors", ("a", 1), ("unlisted", 1));
        WriteIndex(("a", "s1.safetensors"));
        var e = Assert.Throws<InvalidCheckpointException>(() => SafetensorsReader.Open(_folder));
        Assert.StartsWith(shard + ":", e.Message);
        Assert.Equal("unlisted", e.TensorName);
        Assert.Contains("not listed in the index's weight_map", e.Message);
    }

    [Fact]
    public void Open_TensorInTwoShards_Throws()
    {
        WriteShard("s1.safetensors", ("a", 1));
        string second = WriteShard("s2.safetensors", ("a", 1), ("b", 1));
        string index = WriteIndex(("a", "s1.safetensors"), ("b", "s2.safetensors"));
        var e = Assert.Throws<InvalidCheckpointException>(() => SafetensorsReader.Open(index));
        Assert.StartsWith(second + ":", e.Message);
        Assert.Equal("a", e.TensorName);
        Assert.Contains("is also in shard 's1.safetensors'", e.Message);
    }

    [Theory]
    [InlineData("../outside.safetensors", "contains '..'")]
    [InlineData("sub/../../outside.safetensors", "contains '..'")]
    [InlineData("/etc/passwd", "rooted path")]
    public void Open_ShardPathEscapingTheFolder_Throws(string shard, string detail)
    {
        WriteShard("s1.safetensors", ("a", 1));
        string index = WriteIndex(("a", "s1.safetensors"), ("b", shard));
        AssertInvalid(index, "b", detail);
    }

    [Fact]
    public void Open_IndexListsTensorTwice_Throws()
    {
        WriteShard("s1.safetensors", ("a", 1));
        string index = WriteIndex(("a", "s1.safetensors"), ("a", "s2.safetensors"));
        AssertInvalid(index, "a", "weight_map lists the tensor twice");
    }

    [Fact]
    public void Open_DirectoryWithSeveralShardsButNoIndex_Throws()
    {
        WriteShard("s1.safetensors", ("a", 1));
        WriteShard("s2.safetensors", ("b", 1));
        AssertInvalid(_folder, null, "holds 2 .safetensors files but no model.safetensors.index.json");
    }

    [Theory]
    [InlineData(new byte[] { 2, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}' }, 10, true)]
    [InlineData(new byte[] { 4, 0, 0, 0, 0, 0, 0, 0, (byte)' ', (byte)'\n', (byte)'{', (byte)'}' }, 12, true)]
    [InlineData(new byte[] { 2, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}' }, 9, false)]   // N past the end
    [InlineData(new byte[] { 1, 0, 0, 0, 0, 0, 0, 0, (byte)'{' }, 9, false)]               // N < 2
    [InlineData(new byte[] { 2, 0, 0, 0, 0, 0, 0, 0, (byte)'[', (byte)']' }, 10, false)]   // not an object
    [InlineData(new byte[] { (byte)'P', (byte)'K', 3, 4, 0, 0, 0, 0, 0, 0 }, 1000, false)] // a zip (torch.save)
    public void LooksLikeSafetensors_Head_Classifies(byte[] head, long length, bool expected) =>
        Assert.Equal(expected, SafetensorsReader.LooksLikeSafetensors(head, length));

    [Fact]
    public void LooksLikeSafetensors_SharedFixture_IsTrue()
    {
        string path = SharedData.Require("safetensors/mlp.safetensors");
        byte[] head = File.ReadAllBytes(path)[..16];
        Assert.True(SafetensorsReader.LooksLikeSafetensors(head, new FileInfo(path).Length));
    }
}
