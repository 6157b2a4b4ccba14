using WeightSpace.Formats;
using WeightSpace.Formats.Gguf;

namespace WeightSpace.Tests.Formats.Gguf;

/// <summary>Hostile and broken GGUF files (the cases of the shared data's hostile.py and more): each is refused with
/// an <see cref="InvalidGgufException"/> naming the problem, quickly and without allocating what the file claims.</summary>
public sealed class GgufHostileInputTests
{
    private static InvalidGgufException Refused(byte[] bytes, string expectedInMessage, GgufOptions? options = null)
    {
        string path = Path.Combine(SharedData.TempFolder(), "hostile.gguf");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidGgufException>(() =>
        {
            using var store = GgufReader.Open(path, options);
            foreach (var t in store.Tensors) _ = store.ReadSingle(t.Name);
        });
        Assert.Contains(path, e.Message);
        Assert.Contains(expectedInMessage, e.Message);
        return e;
    }

    [Fact]
    public void Control_ValidFile_Loads()
    {
        using var store = GgufReader.Open(GgufBytes.Valid().Write());
        Assert.Equal([0f, 1, 2, 3, 4, 5, 6, 7], store.ReadSingle("w"));
    }

    [Fact]
    public void Control_Alignment64_SecondTensorAtOffset64_Loads()
    {
        var b = GgufBytes.Header(2, 1).KvU32("general.alignment", 64).Tensor("a", [4, 2], 0, 0).Tensor("b", [3], 0, 64)
            .Pad(64).Floats(1, 1, 1, 1, 1, 1, 1, 1).Pad(64).Floats(2, 2, 2);
        using var store = GgufReader.Open(b.Write());
        Assert.Equal(64, store.Alignment);
        Assert.Equal(new Shape(2, 4), store.GetInfo("a").Shape);
        Assert.Equal([2f, 2, 2], store.ReadSingle("b"));
    }

    [Fact]
    public void ZeroDimension_LoadsAsEmptyTensor()
    {
        using var store = GgufReader.Open(GgufBytes.Header(1, 0).Tensor("w", [0], 0, 0).Pad().Write());
        Assert.Equal(0, store.GetInfo("w").ElementCount);
        Assert.Empty(store.ReadSingle("w"));
    }

    [Fact]
    public void BadMagic_IsNotGguf()
    {
        var bytes = GgufBytes.Valid().ToArray();
        bytes[3] = (byte)'X';
        Refused(bytes, "magic");
        string path = Path.Combine(SharedData.TempFolder(), "x.gguf");
        File.WriteAllBytes(path, bytes);
        Assert.Throws<UnsupportedFormatException>(() => Checkpoint.Open(path));
    }

    [Theory]
    [InlineData(1u, "version 1 is not supported")]
    [InlineData(99u, "version 99")]
    [InlineData(0x03000000u, "big-endian")]
    public void Version_OtherThan2Or3_IsRefusedByNumber(uint version, string message)
    {
        var bytes = GgufBytes.Valid().ToArray();
        BitConverter.GetBytes(version).CopyTo(bytes, 4);
        Refused(bytes, message);
    }

    [Fact]
    public void Version2_IsRead()
    {
        var bytes = GgufBytes.Valid().ToArray();
        bytes[4] = 2;
        using var store = GgufReader.Open(Write(bytes));
        Assert.Equal(2u, store.Version);
    }

    [Fact]
    public void Truncated_EveryPrefixOfTheHeader_IsRefused()
    {
        var bytes = GgufBytes.Valid().ToArray();
        for (int n = 0; n < bytes.Length; n++)
        {
            string path = Write(bytes[..n]);
            Assert.Throws<InvalidGgufException>(() => { using var s = GgufReader.Open(path); });
        }
    }

    [Fact] public void TruncatedHeader_NamesTheField() => Refused(GgufBytes.Valid().ToArray()[..14], "tensor count");
    [Fact] public void TruncatedData_IsRefused() => Refused(GgufBytes.Valid().ToArray()[..^8], "runs past the end of the data section");

    [Fact]
    public void TensorCount2Pow63_IsRefusedBeforeAllocation() =>
        Refused(GgufBytes.Header(1UL << 63, 0).ToArray(), "tensor count 9223372036854775808");

    [Fact]
    public void TensorCountOverFileSize_IsRefused() =>
        Refused(GgufBytes.Header(1000, 0).ToArray(), "tensor count 1000 cannot fit");

    [Fact]
    public void KeyValueCount2Pow62_IsRefused() => Refused(GgufBytes.Header(0, 1UL << 62).ToArray(), "key/value count 4611686018427387904");

    [Fact]
    public void StringLength2Pow62_IsRefused() =>
        Refused(GgufBytes.Header(0, 1).U64(1UL << 62).Raw("general.x"u8).ToArray(), "string of 4611686018427387904 bytes");

    [Fact]
    public void StringLongerThanLimit_IsRefused() =>
        Refused(GgufBytes.Header(0, 1).KvStr("k", "0123456789").ToArray(), "MaxStringBytes (4)", new GgufOptions { MaxStringBytes = 4 });

    [Fact]
    public void ArrayLength2Pow60_IsRefusedNamingTheKey()
    {
        var e = Refused(GgufBytes.Header(0, 1).Str("test.arr").U32(9).U32(4).U64(1UL << 60).Raw(new byte[16]).ToArray(), "array length 1152921504606846976");
        Assert.Equal("test.arr", e.Key);
    }

    [Fact]
    public void ArrayLongerThanRemainingBytes_IsRefused() =>
        Refused(GgufBytes.Header(0, 1).Str("a").U32(9).U32(6).U64(1000).Raw(new byte[16]).ToArray(), "needs at least 1000 × 4 bytes");

    [Fact]
    public void NestedArrays1000Deep_AreRefusedAtTheDepthLimit()
    {
        var b = GgufBytes.Header(0, 1).Str("deep").U32(9);
        for (int i = 0; i < 1000; i++) b.U32(9).U64(1);
        b.U32(4).U64(1).U32(7);
        Refused(b.ToArray(), "MaxArrayDepth (8)");
    }

    [Fact]
    public void NestedArrays_WithinTheLimit_AreRead()
    {
        // [[1, 2], [3]] as arrays of UINT32
        var b = GgufBytes.Header(0, 1).Str("nested").U32(9).U32(9).U64(2).U32(4).U64(2).U32(1).U32(2).U32(4).U64(1).U32(3);
        using var store = GgufReader.Open(b.Write());
        var value = store.Find("nested")!;
        Assert.Equal(GgufValueType.Array, value.ElementType);
        var inner = (GgufValue[])value.Value;
        Assert.Equal([1u, 2u], (uint[])inner[0].Value);
        Assert.Equal([3u], (uint[])inner[1].Value);
        Assert.Equal("[[1, 2], [3]]", value.ToString());
    }

    [Fact]
    public void UnknownValueType_IsRefusedByNumber() =>
        Refused(GgufBytes.Header(0, 1).Str("test.k").U32(99).Raw(new byte[8]).ToArray(), "value type 99 is unknown");

    [Fact]
    public void UnknownArrayElementType_IsRefused() =>
        Refused(GgufBytes.Header(0, 1).Str("a").U32(9).U32(13).U64(1).Raw(new byte[8]).ToArray(), "element type 13 is unknown");

    [Fact]
    public void UnknownGgmlType_IsRefusedByNumber() =>
        Refused(GgufBytes.Header(1, 0).Tensor("w", [8], 77, 0).Pad().Floats(0, 1, 2, 3, 4, 5, 6, 7).ToArray(), "ggml type 77 is unknown");

    [Fact]
    public void KnownButUnreadGgmlType_IsRefusedByName() =>
        Refused(GgufBytes.Header(1, 0).Tensor("w", [256], 16, 0).Pad().Raw(new byte[66]).ToArray(), "IQ2_XXS (16) is not read");

    [Fact]
    public void OffsetPastEnd_IsRefused() =>
        Refused(GgufBytes.Header(1, 0).Tensor("w", [8], 0, 4096).Pad().Floats(0, 1, 2, 3, 4, 5, 6, 7).ToArray(), "offset 4096 is past the end");

    [Fact]
    public void UnalignedOffset_IsRefused() =>
        Refused(GgufBytes.Header(1, 0).Tensor("w", [4], 0, 4).Pad().Floats(0, 1, 2, 3, 4, 5, 6, 7).ToArray(), "offset 4 is not a multiple of the alignment 32");

    [Fact]
    public void OverlappingTensors_AreRefused() =>
        Refused(GgufBytes.Header(2, 0).Tensor("a", [16], 0, 0).Tensor("b", [8], 0, 32).Pad().Floats(new float[16]).ToArray(), "overlaps tensor 'a'");

    [Fact]
    public void DimensionProductOverflowingInt64_IsRefused() =>
        Refused(GgufBytes.Header(1, 0).Tensor("w", [1UL << 32, 1UL << 32, 1UL << 32], 0, 0).Pad().Floats(0).ToArray(), "more than 2^63 elements");

    [Fact]
    public void DimensionOver2Pow63_IsRefused() =>
        Refused(GgufBytes.Header(1, 0).Tensor("w", [ulong.MaxValue], 0, 0).Pad().ToArray(), "dimension 0 is 18446744073709551615");

    [Fact]
    public void ByteCountOverflowingInt64_IsRefused() =>
        Refused(GgufBytes.Header(1, 0).Tensor("w", [1UL << 31, 1UL << 31], 0, 0).Pad().ToArray(), "need more than 2^63 bytes");

    [Fact]
    public void FiveDimensions_AreRefused() =>
        Refused(GgufBytes.Header(1, 0).Tensor("w", [1, 1, 1, 1, 8], 0, 0).Pad().Floats(new float[8]).ToArray(), "5 dimensions");

    [Fact]
    public void RowNotWholeBlocks_IsRefused() =>
        Refused(GgufBytes.Header(1, 0).Tensor("w", [48], 8, 0).Pad().Raw(new byte[68]).ToArray(), "row length 48 is not a multiple of the Q8_0 block size 32");

    [Fact]
    public void DuplicateTensorNames_AreRefused() =>
        Refused(GgufBytes.Header(2, 0).Tensor("w", [4], 0, 0).Tensor("w", [4], 0, 32).Pad().Floats(new float[16]).ToArray(), "duplicate tensor name");

    [Fact]
    public void DuplicateKeys_AreRefused()
    {
        var e = Refused(GgufBytes.Header(0, 2).KvU32("k", 1).KvU32("k", 2).ToArray(), "duplicate key");
        Assert.Equal("k", e.Key);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(3u)]
    [InlineData(1u << 31)]
    public void BadAlignment_IsRefusedByNumber(uint alignment) =>
        Refused(GgufBytes.Header(1, 1).KvU32("general.alignment", alignment).Tensor("w", [8], 0, 0).Pad().Floats(new float[8]).ToArray(), $"alignment {alignment} is not a power of two");

    [Fact]
    public void AlignmentOfWrongType_IsRefused() =>
        Refused(GgufBytes.Header(0, 1).KvStr("general.alignment", "32").ToArray(), "must be a UINT32, not STRING");

    [Fact]
    public void InvalidUtf8Key_IsRefused() =>
        Refused(GgufBytes.Header(0, 1).StrBytes([0x67, 0xC3, 0x28]).U32(4).U32(1).ToArray(), "not valid UTF-8");

    [Fact]
    public void InvalidUtf8Value_IsRefusedNamingTheKey()
    {
        var e = Refused(GgufBytes.Header(0, 1).Str("general.name").U32(8).StrBytes([0xFF, 0xFE]).ToArray(), "not valid UTF-8");
        Assert.Equal("general.name", e.Key);
    }

    [Fact]
    public void InvalidUtf8TensorName_IsRefused() =>
        Refused(GgufBytes.Header(1, 0).U64(2).Raw([0xED, 0xA0]).U32(1).U64(8).U32(0).U64(0).Pad().Floats(new float[8]).ToArray(), "not valid UTF-8");

    [Fact]
    public void BoolOtherThan0Or1_IsRefused() =>
        Refused(GgufBytes.Header(0, 1).Str("b").U32(7).U8(2).ToArray(), "bool value 2");

    [Fact]
    public void EmptyKey_IsRefused() => Refused(GgufBytes.Header(0, 1).Str("").U32(4).U32(1).ToArray(), "key 0 is empty");

    [Fact]
    public void HeaderOverLimit_IsRefusedAsTooLarge() =>
        Refused(GgufBytes.Valid().ToArray(), "MaxHeaderBytes", new GgufOptions { MaxHeaderBytes = 40 });

    [Fact]
    public void HuggingFaceView_WithoutHeadCount_NamesTheMissingKey() =>
        Refused(GgufBytes.Header(1, 1).KvStr("general.architecture", "llama").Tensor("blk.0.attn_q.weight", [4, 4], 0, 0).Pad().Floats(new float[16]).ToArray(), "llama.attention.head_count");

    private static string Write(byte[] bytes)
    {
        string path = Path.Combine(SharedData.TempFolder(), "t.gguf");
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
