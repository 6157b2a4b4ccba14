using Google.Protobuf;

namespace WeightSpace.Tests.Formats.SentencePiece;

/// <summary>Writes a SentencePiece <c>tokenizer.model</c> (a <c>sentencepiece.ModelProto</c>) with Google.Protobuf's
/// <see cref="CodedOutputStream"/>, for fixtures. Field numbers are those of google/sentencepiece's
/// <c>src/sentencepiece_model.proto</c>; besides what the reader uses it writes <c>trainer_spec.vocab_size</c>,
/// <c>normalizer_spec.escape_whitespaces</c> and a <c>self_test_data</c>, which the reader must skip, as real models carry
/// those too.</summary>
internal static class SentencePieceModelWriter
{
    /// <summary>A ModelProto with <paramref name="pieces"/> (type: 1 normal … 6 byte; 1 is left out, as protobuf leaves
    /// out a default), <c>trainer_spec</c> (model_type <paramref name="algorithm"/>: 1 unigram, 2 BPE; byte_fallback;
    /// the special ids, unk 0, bos 1, eos 2, pad -1 unless given) and <c>normalizer_spec</c> (name <c>identity</c>,
    /// add_dummy_prefix, remove_extra_whitespaces false, as Llama's tokenizer.model has them).</summary>
    internal static byte[] Write(IReadOnlyList<(string Piece, float Score, int Type)> pieces, int algorithm = 2, bool byteFallback = true,
        bool addDummyPrefix = true, int unkId = 0, int bosId = 1, int eosId = 2, int padId = -1)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        foreach (var (piece, score, type) in pieces)
        {
            WriteMessage(output, 1, o =>
            {
                o.WriteTag(1, WireFormat.WireType.LengthDelimited);
                o.WriteString(piece);
                o.WriteTag(2, WireFormat.WireType.Fixed32);
                o.WriteFloat(score);
                if (type == 1) return;
                o.WriteTag(3, WireFormat.WireType.Varint);
                o.WriteEnum(type);
            });
        }
        WriteMessage(output, 2, o =>
        {
            o.WriteTag(3, WireFormat.WireType.Varint);
            o.WriteEnum(algorithm);
            o.WriteTag(4, WireFormat.WireType.Varint);
            o.WriteInt32(pieces.Count);
            o.WriteTag(35, WireFormat.WireType.Varint);
            o.WriteBool(byteFallback);
            foreach (var (field, id) in new[] { (40, unkId), (41, bosId), (42, eosId), (43, padId) })
            {
                o.WriteTag(field, WireFormat.WireType.Varint);
                o.WriteInt32(id);
            }
        });
        WriteMessage(output, 3, o =>
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited);
            o.WriteString("identity");
            o.WriteTag(3, WireFormat.WireType.Varint);
            o.WriteBool(addDummyPrefix);
            o.WriteTag(4, WireFormat.WireType.Varint);
            o.WriteBool(false);
            o.WriteTag(5, WireFormat.WireType.Varint);
            o.WriteBool(true);
        });
        // self_test_data { samples { input: "a" expected: "▁a" } }
        WriteMessage(output, 4, o => WriteMessage(o, 1, s =>
        {
            s.WriteTag(1, WireFormat.WireType.LengthDelimited);
            s.WriteString("a");
            s.WriteTag(2, WireFormat.WireType.LengthDelimited);
            s.WriteString("▁a");
        }));
        output.Flush();
        return buffer.ToArray();
    }

    /// <summary>Writes field <paramref name="field"/> of <paramref name="output"/> as a message built by
    /// <paramref name="write"/>.</summary>
    private static void WriteMessage(CodedOutputStream output, int field, Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        var inner = new CodedOutputStream(buffer);
        write(inner);
        inner.Flush();
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(buffer.ToArray()));
    }
}
