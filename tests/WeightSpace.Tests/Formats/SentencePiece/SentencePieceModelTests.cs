using Google.Protobuf;
using WeightSpace.Formats.SentencePiece;

namespace WeightSpace.Tests.Formats.SentencePiece;

/// <summary>SentencePiece <c>tokenizer.model</c> (ModelProto) reading: bytes assembled by hand from the protobuf wire
/// format, files from <see cref="SentencePieceModelWriter"/> (Google.Protobuf's encoder), the proto's defaults, skipped
/// fields, and hostile input (each refusal by field and offset, every truncation, seeded mutations, huge lengths).</summary>
public sealed class SentencePieceModelTests
{
    /// <summary>One piece of each type, scores negative, zero and non-finite, text in several scripts.</summary>
    private static readonly (string Piece, float Score, int Type)[] Mixed =
    [
        ("<unk>", 0, 2), ("<s>", 0, 3), ("</s>", 0, 3), ("<0x0A>", 0, 6), ("<0xFF>", 0, 6), ("▁the", -1.25f, 1),
        ("▁", -2, 1), ("日本", -3.5f, 1), ("🙂", float.NegativeInfinity, 1), ("<mask>", 0, 4), ("x", float.NaN, 5),
    ];

    [Fact]
    public void HandAssembledBytes_DecodeToKnownPiecesAndSpecs()
    {
        byte[] data =
        [
            // pieces { piece: "<unk>" score: 0 type: UNKNOWN }
            0x0A, 0x0E, 0x0A, 0x05, (byte)'<', (byte)'u', (byte)'n', (byte)'k', (byte)'>', 0x15, 0x00, 0x00, 0x00, 0x00, 0x18, 0x02,
            // pieces { piece: "▁a" score: -1.5 }
            0x0A, 0x0B, 0x0A, 0x04, 0xE2, 0x96, 0x81, (byte)'a', 0x15, 0x00, 0x00, 0xC0, 0xBF,
            // pieces { piece: "<0x41>" type: BYTE  [extension field 200: 1] }
            0x0A, 0x0D, 0x0A, 0x06, (byte)'<', (byte)'0', (byte)'x', (byte)'4', (byte)'1', (byte)'>', 0x18, 0x06, 0xC0, 0x0C, 0x01,
            // trainer_spec { model_type: BPE vocab_size: 3 byte_fallback: true pad_id: 0 bos_id: -1 }
            0x12, 0x16, 0x18, 0x02, 0x20, 0x03, 0x98, 0x02, 0x01, 0xD8, 0x02, 0x00,
            0xC8, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,
            // normalizer_spec { name: "nmt_nfkc" precompiled_charsmap: "\x01\x02\x03" add_dummy_prefix: false remove_extra_whitespaces: false }
            0x1A, 0x13, 0x0A, 0x08, (byte)'n', (byte)'m', (byte)'t', (byte)'_', (byte)'n', (byte)'f', (byte)'k', (byte)'c',
            0x12, 0x03, 0x01, 0x02, 0x03, 0x18, 0x00, 0x20, 0x00,
            // denormalizer_spec { add_dummy_prefix: true }: a NormalizerSpec too, which must not be read as the normalizer
            0x2A, 0x02, 0x18, 0x01,
            // unknown field 99 (fixed64) and field 100 (fixed32)
            0x99, 0x06, 1, 2, 3, 4, 5, 6, 7, 8,
            0xA5, 0x06, 1, 2, 3, 4,
        ];

        var model = SentencePieceModel.Parse(data, "hand.model");

        Assert.Equal(
            [
                new SentencePiecePiece("<unk>", 0, SentencePieceType.Unknown),
                new SentencePiecePiece("▁a", -1.5f, SentencePieceType.Normal),
                new SentencePiecePiece("<0x41>", 0, SentencePieceType.Byte),
            ], model.Pieces);
        Assert.Equal(SentencePieceAlgorithm.Bpe, model.Algorithm);
        Assert.True(model.ByteFallback);
        Assert.Equal((0, -1, 2, 0), (model.UnknownId, model.BosId, model.EosId, model.PadId));
        Assert.Equal("nmt_nfkc", model.NormalizerName);
        Assert.False(model.AddDummyPrefix);
        Assert.False(model.RemoveExtraWhitespaces);
    }

    [Theory]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, (byte)'z' })]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, (byte)'z', 0x12, 0x00, 0x1A, 0x00 })]   // empty trainer_spec and normalizer_spec
    public void AbsentFields_TakeTheProtosDefaults(byte[] data)
    {
        var model = SentencePieceModel.Parse(data, "t.model");

        Assert.Equal(new SentencePiecePiece("z", 0, SentencePieceType.Normal), Assert.Single(model.Pieces));
        Assert.Equal(SentencePieceAlgorithm.Unigram, model.Algorithm);
        Assert.False(model.ByteFallback);
        Assert.Equal((0, 1, 2, -1), (model.UnknownId, model.BosId, model.EosId, model.PadId));
        Assert.Null(model.NormalizerName);
        Assert.True(model.AddDummyPrefix);
        Assert.True(model.RemoveExtraWhitespaces);
    }

    [Theory]
    [InlineData(1, false, true, 0, 1, 2, -1)]
    [InlineData(2, true, false, 3, -1, -1, 0)]
    [InlineData(3, true, true, 0, 1, 2, 3)]
    [InlineData(4, false, false, -1, int.MaxValue, int.MinValue, 5)]
    public void WrittenByGoogleProtobuf_RoundTrips(int algorithm, bool byteFallback, bool addDummyPrefix, int unk, int bos, int eos, int pad)
    {
        byte[] data = SentencePieceModelWriter.Write(Mixed, algorithm, byteFallback, addDummyPrefix, unk, bos, eos, pad);

        var model = SentencePieceModel.Parse(data, "t.model");

        Assert.Equal(Mixed.Select(p => new SentencePiecePiece(p.Piece, p.Score, (SentencePieceType)p.Type)), model.Pieces);
        Assert.True(float.IsNaN(model.Pieces[^1].Score));   // kept, not refused (see SentencePieceModel's remarks)
        Assert.Equal((SentencePieceAlgorithm)algorithm, model.Algorithm);
        Assert.Equal(byteFallback, model.ByteFallback);
        Assert.Equal(addDummyPrefix, model.AddDummyPrefix);
        Assert.Equal((unk, bos, eos, pad), (model.UnknownId, model.BosId, model.EosId, model.PadId));
        Assert.Equal("identity", model.NormalizerName);
        Assert.False(model.RemoveExtraWhitespaces);
    }

    [Fact]
    public void ALargeVocabulary_RoundTripsInOrder_ThroughAFile()
    {
        var pieces = Enumerable.Range(0, 40_000).Select(i => ($"▁p{i}", -i / 7f, i < 3 ? 3 : 1)).ToArray();
        string path = Path.Combine(SharedData.TempFolder(), "tokenizer.model");
        File.WriteAllBytes(path, SentencePieceModelWriter.Write(pieces));

        var model = SentencePieceModel.Read(path);

        Assert.Equal(pieces.Length, model.Pieces.Count);
        Assert.Equal(pieces.Select(p => new SentencePiecePiece(p.Item1, p.Item2, (SentencePieceType)p.Item3)), model.Pieces);
    }

    [Fact]
    public void RepeatedSingularFields_TakeTheLastValue_AsProtobufMerges()
    {
        byte[] data =
        [
            0x0A, 0x06, 0x0A, 0x01, (byte)'a', 0x0A, 0x01, (byte)'b',   // pieces { piece: "a" piece: "b" }
            0x12, 0x02, 0x18, 0x02,                                     // trainer_spec { model_type: BPE }
            0x12, 0x03, 0x98, 0x02, 0x01,                               // trainer_spec { byte_fallback: true }
            0x1A, 0x02, 0x18, 0x00, 0x1A, 0x02, 0x20, 0x00,             // normalizer_spec twice, one flag each
        ];

        var model = SentencePieceModel.Parse(data, "t.model");

        Assert.Equal("b", Assert.Single(model.Pieces).Piece);
        Assert.Equal(SentencePieceAlgorithm.Bpe, model.Algorithm);
        Assert.True(model.ByteFallback);
        Assert.False(model.AddDummyPrefix);
        Assert.False(model.RemoveExtraWhitespaces);
    }

    [Theory]
    [InlineData(new byte[] { }, "pieces at byte 0: there are none")]
    [InlineData(new byte[] { 0x98, 0x06, 0x2A }, "pieces at byte 0: there are none")]
    [InlineData(new byte[] { 0x0A, 0x02, 0x0A, 0x00 }, "pieces[0].piece at byte 3: is empty")]
    [InlineData(new byte[] { 0x0A, 0x05, 0x15, 0x00, 0x00, 0x80, 0x3F }, "pieces[0].piece at byte 2: is missing")]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0x61, 0x0A, 0x03, 0x0A, 0x01, 0x61 }, "pieces[1].piece at byte 8: 'a' is already pieces[0]")]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0xFF }, "pieces[0].piece at byte 3: is not valid UTF-8 (byte 4 ")]
    [InlineData(new byte[] { 0x0A, 0x04, 0x0A, 0x02, 0x61, 0xC3 }, "pieces[0].piece at byte 3: is not valid UTF-8 (byte 5 ")]
    [InlineData(new byte[] { 0x0A, 0x04, 0x0A, 0x02, 0xC0, 0x80 }, "pieces[0].piece at byte 3: is not valid UTF-8 (byte 4 ")]
    [InlineData(new byte[] { 0x0A, 0x05, 0x0A, 0x03, 0xED, 0xA0, 0x80 }, "pieces[0].piece at byte 3: is not valid UTF-8 (byte 4 ")]
    [InlineData(new byte[] { 0x0A, 0x05, 0x0A, 0x01, 0x61, 0x18, 0x07 }, "pieces[0].type at byte 6: is 7, not a piece type")]
    [InlineData(new byte[] { 0x0A, 0x05, 0x0A, 0x01, 0x61, 0x18, 0x00 }, "pieces[0].type at byte 6: is 0, not a piece type")]
    [InlineData(new byte[] { 0x0A, 0x0E, 0x0A, 0x01, 0x61, 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 },
        "pieces[0].type at byte 6: is -1, not")]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0x61, 0x12, 0x02, 0x18, 0x05 }, "trainer_spec.model_type at byte 8: is 5, not a model type")]
    [InlineData(new byte[] { 0x0A, 0x05, 0x0A, 0x01, 0x61 }, "pieces[0] at byte 1: claims 5 bytes but 3 are left in ModelProto")]
    [InlineData(new byte[] { 0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F }, "pieces[0] at byte 1: claims 4294967295 bytes but 0 are left")]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x05, 0x61, 0x62, 0x63, 0x64, 0x65 }, "pieces[0].piece at byte 3: claims 5 bytes but 1 are left in pieces[0]")]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0x61, 0x12, 0x03, 0x0A, 0x05, 0x61 },
        "trainer_spec field 1 at byte 8: claims 5 bytes but 1 are left in trainer_spec")]
    [InlineData(new byte[] { 0x0A, 0x80 }, "pieces[0] at byte 1: has a length that is not a valid varint")]
    [InlineData(new byte[] { 0x80 }, "ModelProto tag at byte 0: is not a valid field tag")]
    [InlineData(new byte[] { 0x00 }, "ModelProto tag at byte 0: is not a valid field tag")]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0x61, 0x00 }, "ModelProto tag at byte 5: is not a valid field tag")]
    [InlineData(new byte[] { 0x08, 0x01 }, "pieces[0] at byte 1: has wire type 0 (Varint), not 2 (LengthDelimited)")]
    [InlineData(new byte[] { 0x0A, 0x05, 0x0A, 0x01, 0x61, 0x10, 0x00 }, "pieces[0].score at byte 6: has wire type 0 (Varint), not 5 (Fixed32)")]
    [InlineData(new byte[] { 0x0A, 0x07, 0x0A, 0x01, 0x61, 0x1D, 0, 0, 0 }, "pieces[0].type at byte 6: has wire type 5 (Fixed32), not 0")]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0x61, 0x15, 0x00, 0x00, 0x00, 0x00 }, "trainer_spec at byte 6: has wire type 5 (Fixed32), not 2")]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0x61, 0x12, 0x06, 0x9D, 0x02, 1, 0, 0, 0 }, "trainer_spec.byte_fallback at byte 9: has wire type 5")]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0x61, 0x1A, 0x02, 0x08, 0x01 }, "normalizer_spec.name at byte 8: has wire type 0")]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0x61, 0x1A, 0x03, 0x0A, 0x01, 0xFF }, "normalizer_spec.name at byte 8: is not valid UTF-8")]
    [InlineData(new byte[] { 0x0B }, "ModelProto field 1 at byte 0: has wire type 3 (a group")]
    [InlineData(new byte[] { 0x0A, 0x01, 0x0C }, "pieces[0] field 1 at byte 2: has wire type 4 (a group")]
    [InlineData(new byte[] { 0x0E }, "ModelProto field 1 at byte 0: has wire type 6, which protobuf does not define")]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0x61, 0x0A, 0x03, 0x15, 0x00, 0x00 },
        "pieces[1].score at byte 8: needs 4 bytes but 2 are left in pieces[1]")]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0x61, 0x29, 0x00, 0x00 }, "ModelProto field 5 at byte 6: needs 8 bytes but 2 are left in ModelProto")]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0x61, 0x2D, 0x00 }, "ModelProto field 5 at byte 6: needs 4 bytes but 1 are left in ModelProto")]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0x61, 0x28, 0x80 }, "ModelProto field 5 at byte 6: is not a valid varint")]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0x61, 0x28, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 },
        "ModelProto field 5 at byte 6: is not a valid varint")]
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0x61, 0x12, 0x02, 0xC0, 0x02 }, "trainer_spec.unk_id at byte 9: is not a valid varint")]
    public void HostileBytes_AreRefused_NamingTheFieldAndOffset(byte[] data, string expected)
    {
        var e = Assert.Throws<InvalidCheckpointException>(() => SentencePieceModel.Parse(data, "bad.model"));

        Assert.Equal("bad.model", e.FilePath);
        Assert.StartsWith("bad.model: SentencePiece model: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void ADuplicateWithAControlCharacter_IsNamedOnOneLine()
    {
        byte[] data = SentencePieceModelWriter.Write([("a\nb", 0, 1), ("c", 0, 1), ("a\nb", 0, 1)]);

        var e = Assert.Throws<InvalidCheckpointException>(() => SentencePieceModel.Parse(data, "dup.model"));

        Assert.Contains("pieces[2].piece at byte ", e.Message, StringComparison.Ordinal);
        Assert.Contains(@"'a\u000Ab' is already pieces[0]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MorePiecesThanTheLimit_AreRefused_AndTheLimitItselfIsAccepted()
    {
        byte[] data = SentencePieceModelWriter.Write([("a", 0, 1), ("b", 0, 1), ("c", 0, 1)]);

        Assert.Equal(3, SentencePieceModel.Decode(data, "t.model", maxPieces: 3).Pieces.Count);
        var e = Assert.Throws<InvalidCheckpointException>(() => SentencePieceModel.Decode(data, "t.model", maxPieces: 2));
        Assert.Contains("pieces[2] at byte 21: is one piece more than the 2 accepted", e.Message, StringComparison.Ordinal);
        Assert.Equal(1 << 22, SentencePieceModel.MaxPieces);
    }

    [Theory]
    [InlineData(new byte[] { 0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x07 })]                                  // pieces claims 2 GiB
    [InlineData(new byte[] { 0x0A, 0x06, 0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x07 })]                      // a piece's text claims 2 GiB
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0x61, 0x22, 0xFF, 0xFF, 0xFF, 0xFF, 0x07 })]    // self_test_data claims 2 GiB
    public void AHugeClaimedLength_IsRefusedWithoutAllocatingIt(byte[] data)
    {
        // Warm up (JIT, the exception path) so that only the refusal itself is measured.
        Assert.Throws<InvalidCheckpointException>(() => SentencePieceModel.Parse([0x0A, 0x7F], "warm.model"));
        long before = GC.GetAllocatedBytesForCurrentThread();

        var e = Assert.Throws<InvalidCheckpointException>(() => SentencePieceModel.Parse(data, "huge.model"));

        Assert.Contains("claims 2147483647 bytes", e.Message, StringComparison.Ordinal);
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 1 << 20);
    }

    [Fact]
    public void EveryTruncation_IsATypedError_OrEndsAtATopLevelFieldAndKeepsThePiecesBeforeIt()
    {
        byte[] data = SentencePieceModelWriter.Write(Mixed);
        var boundaries = TopLevelFieldEnds(data);
        var expected = Mixed.Select(p => new SentencePiecePiece(p.Piece, p.Score, (SentencePieceType)p.Type)).ToArray();
        int parsed = 0;

        for (int n = 0; n < data.Length; n++)
        {
            try
            {
                var model = SentencePieceModel.Parse(data.AsSpan(0, n), "cut.model");
                Assert.Contains(n, boundaries);
                Assert.Equal(expected.Take(model.Pieces.Count), model.Pieces);
                parsed++;
            }
            catch (InvalidCheckpointException e)
            {
                Assert.StartsWith("cut.model: SentencePiece model: ", e.Message, StringComparison.Ordinal);
            }
        }

        // Prefixes ending after the 1st … 11th piece, trainer_spec and normalizer_spec parse (the whole file, which ends
        // with self_test_data, is not among the prefixes); every other cut is refused.
        Assert.Equal(Mixed.Length + 2, parsed);
    }

    [Fact]
    public void SeededMutations_SucceedOrThrowOnlyTheTypedError()
    {
        byte[] valid = SentencePieceModelWriter.Write(Mixed);
        var random = new Random(20261203);
        int refused = 0, accepted = 0;

        for (int round = 0; round < 2000; round++)
        {
            byte[] data = Mutate(valid, random);
            try
            {
                var model = SentencePieceModel.Parse(data, "m.model");
                Assert.NotEmpty(model.Pieces);
                Assert.All(model.Pieces, p => Assert.NotEmpty(p.Piece));
                accepted++;
            }
            catch (InvalidCheckpointException e)
            {
                Assert.StartsWith("m.model: SentencePiece model: ", e.Message, StringComparison.Ordinal);
                refused++;
            }
        }

        Assert.InRange(refused, 200, 1900);
        Assert.InRange(accepted, 100, 1800);
    }

    [Fact]
    public void RandomBytes_ThrowOnlyTheTypedError()
    {
        var random = new Random(7);
        for (int round = 0; round < 2000; round++)
        {
            byte[] data = new byte[random.Next(0, 64)];
            random.NextBytes(data);
            try { SentencePieceModel.Parse(data, "r.model"); }
            catch (InvalidCheckpointException) { }
        }
    }

    [Fact]
    public void AFileLargerThanTheLimit_IsRefusedBeforeReading()
    {
        string path = Path.Combine(SharedData.TempFolder(), "tokenizer.model");
        byte[] data = SentencePieceModelWriter.Write(Mixed);
        File.WriteAllBytes(path, data);

        var e = Assert.Throws<InvalidCheckpointException>(() => SentencePieceModel.Read(path, maxBytes: data.Length - 1));

        Assert.Contains($"the file has {data.Length} bytes, more than the {data.Length - 1} accepted", e.Message, StringComparison.Ordinal);
        Assert.Equal(Mixed.Length, SentencePieceModel.Read(path, maxBytes: data.Length).Pieces.Count);
        Assert.Equal(64L << 20, SentencePieceModel.MaxFileBytes);
    }

    /// <summary>The offsets at which each top-level field of a ModelProto ends, found with Google.Protobuf.</summary>
    private static HashSet<int> TopLevelFieldEnds(byte[] data)
    {
        var ends = new HashSet<int>();
        var input = new CodedInputStream(data);
        while (input.ReadTag() != 0)
        {
            input.SkipLastField();
            ends.Add((int)input.Position);
        }
        return ends;
    }

    /// <summary>One to three damages: a byte overwritten, a bit flipped, bytes inserted or removed, or a cut.</summary>
    private static byte[] Mutate(byte[] valid, Random random)
    {
        var data = valid.ToList();
        for (int k = random.Next(1, 4); k > 0 && data.Count > 0; k--)
        {
            int at = random.Next(data.Count);
            switch (random.Next(5))
            {
                case 0: data[at] = (byte)random.Next(256); break;
                case 1: data[at] ^= (byte)(1 << random.Next(8)); break;
                case 2: data.InsertRange(at, Enumerable.Range(0, random.Next(1, 4)).Select(_ => (byte)random.Next(256))); break;
                case 3: data.RemoveRange(at, Math.Min(random.Next(1, 4), data.Count - at)); break;
                default: data.RemoveRange(at, data.Count - at); break;
            }
        }
        return [.. data];
    }
}
