using System.Buffers;
using System.Text.Unicode;
using Google.Protobuf;

namespace WeightSpace.Formats.SentencePiece;

/// <summary>A piece's type in a SentencePiece model (<c>ModelProto.SentencePiece.Type</c>; absent = Normal).</summary>
public enum SentencePieceType
{
    /// <summary>An ordinary piece (<c>NORMAL</c>).</summary>
    Normal = 1,
    /// <summary>The unknown piece, <c>&lt;unk&gt;</c> (<c>UNKNOWN</c>).</summary>
    Unknown = 2,
    /// <summary>A control symbol such as <c>&lt;s&gt;</c> or <c>&lt;/s&gt;</c> (<c>CONTROL</c>).</summary>
    Control = 3,
    /// <summary>A user-defined symbol, always kept as one piece (<c>USER_DEFINED</c>).</summary>
    UserDefined = 4,
    /// <summary>A piece that is never produced (<c>UNUSED</c>).</summary>
    Unused = 5,
    /// <summary>A byte-fallback piece, <c>&lt;0xXX&gt;</c> (<c>BYTE</c>).</summary>
    Byte = 6,
}

/// <summary>The algorithm a SentencePiece model was trained with (<c>TrainerSpec.model_type</c>; absent = Unigram).</summary>
public enum SentencePieceAlgorithm
{
    /// <summary>Unigram language model (<c>UNIGRAM</c>).</summary>
    Unigram = 1,
    /// <summary>Byte-pair encoding (<c>BPE</c>; Llama, Mistral).</summary>
    Bpe = 2,
    /// <summary>Whitespace-delimited words (<c>WORD</c>).</summary>
    Word = 3,
    /// <summary>Single characters (<c>CHAR</c>).</summary>
    Char = 4,
}

/// <summary>One piece of a SentencePiece model, as SentencePieceProcessor's <c>IdToPiece</c>, <c>GetScore</c> and
/// <c>IsUnknown</c>/<c>IsControl</c>/<c>IsUnused</c>/<c>IsByte</c> report it.</summary>
/// <param name="Piece">The piece's text (U+2581 ▁ stands for a space).</param>
/// <param name="Score">Its score: the merge priority in a BPE model, the log probability in a Unigram model.</param>
/// <param name="Type">Its type.</param>
public sealed record SentencePiecePiece(string Piece, float Score, SentencePieceType Type);

/// <summary>A SentencePiece <c>tokenizer.model</c>: a serialised <c>sentencepiece.ModelProto</c> (google/sentencepiece,
/// <c>src/sentencepiece_model.proto</c>). Holds the pieces in id order, the trainer's algorithm, byte fallback and
/// special ids, and the normalizer's flags: what llama.cpp's converter reads through SentencePieceProcessor.</summary>
/// <remarks>
/// <para>Decoded with Google.Protobuf's <see cref="CodedInputStream"/>, tag by tag, without generated classes. Read:
/// <c>pieces</c> (1: <c>piece</c> 1, <c>score</c> 2, <c>type</c> 3), <c>trainer_spec</c> (2: <c>model_type</c> 3,
/// <c>byte_fallback</c> 35, <c>unk_id</c> 40, <c>bos_id</c> 41, <c>eos_id</c> 42, <c>pad_id</c> 43) and
/// <c>normalizer_spec</c> (3: <c>name</c> 1, <c>add_dummy_prefix</c> 3, <c>remove_extra_whitespaces</c> 4). Every other
/// field (<c>self_test_data</c>, <c>denormalizer_spec</c>, <c>precompiled_charsmap</c>, unknown and extension fields) is
/// skipped without being decoded, so no message is nested deeper than one level below ModelProto. A field that occurs
/// twice takes its last value, as protobuf merges.</para>
/// <para>The input is untrusted. Every length is checked against the bytes left in its message before anything is
/// sliced or allocated, and every failure is an <see cref="InvalidCheckpointException"/> naming the field
/// (<c>pieces[12].piece</c>) and the byte offset in the file: a cut-short or over-long varint, a length past the end, a
/// wire type that does not fit a known field, groups (wire types 3 and 4, which no SentencePiece message uses), a piece
/// that is missing, empty, not valid UTF-8 or a duplicate of an earlier one (SentencePieceProcessor refuses those when it
/// loads a model), a type outside 1–6 or a model type outside 1–4 (refused rather than read as the default, as a
/// protobuf runtime would treat an unknown enum value), more than <see cref="MaxPieces"/> pieces, or none.</para>
/// <para>Scores are kept as written, NaN and infinities included: SentencePiece does not check them and loads such a
/// model (checked with SentencePieceProcessor 0.1.97), so refusing them here would refuse a file the reference
/// implementation accepts. The special ids are kept as written too (they may be -1, or even point past the pieces);
/// llama.cpp's converter goes by the piece types, not these ids. Rules SentencePieceProcessor adds when it loads a model
/// are not applied here, being about a vocabulary's consistency rather than its encoding: exactly one UNKNOWN piece,
/// BYTE pieces only with <c>byte_fallback</c>, and then all 256 of them; a caller that needs them checks the pieces.</para>
/// </remarks>
public sealed class SentencePieceModel
{
    /// <summary>Largest file <see cref="Read"/> accepts by default: 64 MiB (Gemma's 256k-piece model is about 4 MB).</summary>
    public const long MaxFileBytes = 64L << 20;

    /// <summary>Most pieces accepted (4,194,304; the largest published vocabularies have 256k).</summary>
    public const int MaxPieces = 1 << 22;

    private SentencePieceModel() { }

    /// <summary>The pieces in id order (never empty).</summary>
    public IReadOnlyList<SentencePiecePiece> Pieces { get; private set; } = [];

    /// <summary><c>TrainerSpec.model_type</c> (default <see cref="SentencePieceAlgorithm.Unigram"/>).</summary>
    public SentencePieceAlgorithm Algorithm { get; private set; } = SentencePieceAlgorithm.Unigram;

    /// <summary><c>TrainerSpec.byte_fallback</c> (default false): characters outside the vocabulary become
    /// <c>&lt;0xXX&gt;</c> pieces.</summary>
    public bool ByteFallback { get; private set; }

    /// <summary><c>TrainerSpec.unk_id</c> as written (default 0). SentencePieceProcessor's <c>unk_id()</c> is not
    /// this number but the id of <c>TrainerSpec.unk_piece</c> among the pieces.</summary>
    public int UnknownId { get; private set; }

    /// <summary><c>TrainerSpec.bos_id</c> as written (default 1; -1 = none). SentencePieceProcessor's <c>bos_id()</c> is not
    /// this number but the id of <c>TrainerSpec.bos_piece</c> among the pieces.</summary>
    public int BosId { get; private set; } = 1;

    /// <summary><c>TrainerSpec.eos_id</c> as written (default 2; -1 = none). SentencePieceProcessor's <c>eos_id()</c> is not
    /// this number but the id of <c>TrainerSpec.eos_piece</c> among the pieces.</summary>
    public int EosId { get; private set; } = 2;

    /// <summary><c>TrainerSpec.pad_id</c> as written (default -1 = none). SentencePieceProcessor's <c>pad_id()</c> is not
    /// this number but the id of <c>TrainerSpec.pad_piece</c> among the pieces.</summary>
    public int PadId { get; private set; } = -1;

    /// <summary><c>NormalizerSpec.name</c> (<c>identity</c>, <c>nmt_nfkc</c>, …), or null when absent.</summary>
    public string? NormalizerName { get; private set; }

    /// <summary><c>NormalizerSpec.add_dummy_prefix</c> (default true): a ▁ is put before the text.</summary>
    public bool AddDummyPrefix { get; private set; } = true;

    /// <summary><c>NormalizerSpec.remove_extra_whitespaces</c> (default true): leading, trailing and repeated spaces
    /// are removed before encoding.</summary>
    public bool RemoveExtraWhitespaces { get; private set; } = true;

    /// <summary>Reads the <c>tokenizer.model</c> at <paramref name="path"/>; a file larger than
    /// <paramref name="maxBytes"/> is refused before any of it is read.</summary>
    /// <exception cref="InvalidCheckpointException">The file is too large or is not a valid SentencePiece model.</exception>
    public static SentencePieceModel Read(string path, long maxBytes = MaxFileBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        long length = stream.Length;
        long limit = Math.Min(maxBytes, Array.MaxLength);
        if (length > limit)
            throw new InvalidCheckpointException(path, null, $"SentencePiece model: the file has {length} bytes, more than the {limit} accepted");
        var data = new byte[length];
        int read = stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
        if (read < data.Length)
            throw new InvalidCheckpointException(path, null, $"SentencePiece model: only {read} of the file's {length} bytes could be read (did it shrink?)");
        return Decode(data, path, MaxPieces);
    }

    /// <summary>Parses a serialised ModelProto; <paramref name="path"/> names it in errors.</summary>
    /// <exception cref="InvalidCheckpointException">The bytes are not a valid SentencePiece model.</exception>
    public static SentencePieceModel Parse(ReadOnlySpan<byte> data, string path) => Decode(data.ToArray(), path, MaxPieces);

    /// <summary>The decoder; <paramref name="maxPieces"/> is <see cref="MaxPieces"/> except in tests of the limit.</summary>
    internal static SentencePieceModel Decode(byte[] data, string path, int maxPieces)
    {
        try
        {
            return DecodeModel(data, path, maxPieces);
        }
        catch (InvalidProtocolBufferException e)
        {
            // Cursor checks every read before Google.Protobuf makes it; this is the net under those checks.
            throw new InvalidCheckpointException(path, null, $"SentencePiece model: malformed protobuf: {e.Message}", e);
        }
    }

    private static SentencePieceModel DecodeModel(byte[] data, string path, int maxPieces)
    {
        var result = new SentencePieceModel();
        var pieces = new List<SentencePiecePiece>();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var message = new Cursor(data, 0, data.Length, path, "ModelProto");
        while (message.Next(out int field, out var wire))
        {
            switch (field)
            {
                case 1:
                    string label = $"pieces[{pieces.Count}]";
                    if (pieces.Count >= maxPieces) throw message.Bad(label, message.FieldStart, $"is one piece more than the {maxPieces} accepted");
                    pieces.Add(ReadPiece(message.Message(wire, label), label, pieces.Count, ids));
                    break;
                case 2: result.ReadTrainerSpec(message.Message(wire, "trainer_spec")); break;
                case 3: result.ReadNormalizerSpec(message.Message(wire, "normalizer_spec")); break;
                default: message.Skip(wire, field); break;
            }
        }
        if (pieces.Count == 0) throw message.Bad("pieces", 0, "there are none (is this a tokenizer.model?)");
        result.Pieces = pieces;
        return result;
    }

    private static SentencePiecePiece ReadPiece(Cursor message, string label, int index, Dictionary<string, int> ids)
    {
        string? text = null;
        long textAt = message.Start;
        float score = 0;
        var type = SentencePieceType.Normal;
        while (message.Next(out int field, out var wire))
        {
            switch (field)
            {
                case 1:
                    textAt = message.FieldStart;
                    text = message.Text(wire, label + ".piece");
                    break;
                case 2: score = message.Float(wire, label + ".score"); break;
                case 3:
                    long at = message.FieldStart;
                    int value = message.Enum(wire, label + ".type");
                    if (value is < 1 or > 6)
                        throw message.Bad(label + ".type", at, $"is {value}, not a piece type (1–6: NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE)");
                    type = (SentencePieceType)value;
                    break;
                default: message.Skip(wire, field); break;
            }
        }
        if (text is null) throw message.Bad(label + ".piece", textAt, "is missing (every piece needs its text)");
        if (text.Length == 0) throw message.Bad(label + ".piece", textAt, "is empty (SentencePiece refuses empty pieces)");
        if (!ids.TryAdd(text, index))
            throw message.Bad(label + ".piece", textAt, $"{Quote(text)} is already pieces[{ids[text]}] (SentencePiece refuses duplicate pieces)");
        return new SentencePiecePiece(text, score, type);
    }

    private void ReadTrainerSpec(Cursor message)
    {
        while (message.Next(out int field, out var wire))
        {
            switch (field)
            {
                case 3:
                    long at = message.FieldStart;
                    int value = message.Enum(wire, "trainer_spec.model_type");
                    if (value is < 1 or > 4)
                        throw message.Bad("trainer_spec.model_type", at, $"is {value}, not a model type (1–4: UNIGRAM, BPE, WORD, CHAR)");
                    Algorithm = (SentencePieceAlgorithm)value;
                    break;
                case 35: ByteFallback = message.Bool(wire, "trainer_spec.byte_fallback"); break;
                case 40: UnknownId = message.Int32(wire, "trainer_spec.unk_id"); break;
                case 41: BosId = message.Int32(wire, "trainer_spec.bos_id"); break;
                case 42: EosId = message.Int32(wire, "trainer_spec.eos_id"); break;
                case 43: PadId = message.Int32(wire, "trainer_spec.pad_id"); break;
                default: message.Skip(wire, field); break;
            }
        }
    }

    private void ReadNormalizerSpec(Cursor message)
    {
        while (message.Next(out int field, out var wire))
        {
            switch (field)
            {
                case 1: NormalizerName = message.Text(wire, "normalizer_spec.name"); break;
                case 3: AddDummyPrefix = message.Bool(wire, "normalizer_spec.add_dummy_prefix"); break;
                case 4: RemoveExtraWhitespaces = message.Bool(wire, "normalizer_spec.remove_extra_whitespaces"); break;
                default: message.Skip(wire, field); break;
            }
        }
    }

    /// <summary>A piece's text for an error message: quoted, at most 32 characters, control characters and line
    /// separators escaped so that the message stays one line.</summary>
    private static string Quote(string text)
    {
        string head = text.Length <= 32 ? text : text[..32] + "…";
        return "'" + string.Concat(head.Select(c => char.IsControl(c) || c is '\u2028' or '\u2029' ? $"\\u{(int)c:X4}" : c.ToString())) + "'";
    }

    /// <summary>One message's bytes, <c>[start, start + length)</c> of the file, read field by field with a
    /// <see cref="CodedInputStream"/>. A length-delimited field is checked against the bytes left, then sliced out of
    /// the file's array and the stream restarted after it (Google.Protobuf's public API has no way to skip raw bytes
    /// without first reading a length it has not checked). Every failure, Google.Protobuf's included, becomes an
    /// <see cref="InvalidCheckpointException"/> naming the field and the byte offset in the file.</summary>
    private sealed class Cursor
    {
        private readonly byte[] _data;
        private readonly int _end;
        private readonly string _path;
        private readonly string _name;
        private CodedInputStream _input;
        private int _origin;   // offset in the file where _input starts
        private long _base;    // _input.Position there

        public Cursor(byte[] data, int start, int length, string path, string name)
        {
            _data = data;
            _end = start + length;
            _path = path;
            _name = name;
            Start = FieldStart = start;
            Restart(start);
        }

        /// <summary>Offset in the file where this message's bytes start.</summary>
        public long Start { get; }

        /// <summary>Offset in the file of the current field's value (just after its tag).</summary>
        public long FieldStart { get; private set; }

        private long Offset => _origin + (_input.Position - _base);

        public InvalidCheckpointException Bad(string field, long at, string detail, Exception? inner = null) =>
            new(_path, null, $"SentencePiece model: {field} at byte {at}: {detail}", inner);

        /// <summary>The next field's number and wire type; false at the end of the message.</summary>
        public bool Next(out int field, out WireFormat.WireType wire)
        {
            field = 0;
            wire = default;
            long at = Offset;
            if (at >= _end) return false;
            uint tag;
            try
            {
                tag = _input.ReadTag();
            }
            catch (InvalidProtocolBufferException e)
            {
                throw Bad(_name + " tag", at, "is not a valid field tag (a varint cut short or longer than 10 bytes, or field number 0)", e);
            }
            field = WireFormat.GetTagFieldNumber(tag);
            wire = WireFormat.GetTagWireType(tag);
            if (wire is WireFormat.WireType.StartGroup or WireFormat.WireType.EndGroup)
                throw Bad($"{_name} field {field}", at, $"has wire type {(int)wire} (a group; no SentencePiece message uses groups)");
            if ((int)wire is 6 or 7) throw Bad($"{_name} field {field}", at, $"has wire type {(int)wire}, which protobuf does not define");
            FieldStart = Offset;
            return true;
        }

        public bool Bool(WireFormat.WireType wire, string field) => Varint(wire, field) != 0;

        /// <summary>An int32 field; negative values are ten-byte varints, of which the low 32 bits count.</summary>
        public int Int32(WireFormat.WireType wire, string field) => unchecked((int)Varint(wire, field));

        /// <summary>An enum field (an int32 on the wire).</summary>
        public int Enum(WireFormat.WireType wire, string field) => Int32(wire, field);

        public float Float(WireFormat.WireType wire, string field)
        {
            Expect(wire, WireFormat.WireType.Fixed32, field);
            Need(4, field);
            return _input.ReadFloat();
        }

        /// <summary>A string field, which must be valid UTF-8.</summary>
        public string Text(WireFormat.WireType wire, string field)
        {
            var bytes = Bytes(wire, field, out long at);
            var chars = new char[bytes.Length];   // UTF-8 never has more UTF-16 units than bytes
            var status = Utf8.ToUtf16(bytes, chars, out int read, out int written, replaceInvalidSequences: false);
            if (status != OperationStatus.Done) throw Bad(field, FieldStart, $"is not valid UTF-8 (byte {at + read} starts an invalid or cut-short sequence)");
            return new string(chars, 0, written);
        }

        /// <summary>A sub-message; its fields are read from the returned cursor.</summary>
        public Cursor Message(WireFormat.WireType wire, string field)
        {
            var bytes = Bytes(wire, field, out long at);
            return new Cursor(_data, (int)at, bytes.Length, _path, field);
        }

        /// <summary>Skips a field this reader does not use.</summary>
        public void Skip(WireFormat.WireType wire, int field)
        {
            string label = $"{_name} field {field}";
            switch (wire)
            {
                case WireFormat.WireType.Varint: Varint(wire, label); break;
                case WireFormat.WireType.Fixed32:
                    Need(4, label);
                    _input.ReadFixed32();
                    break;
                case WireFormat.WireType.Fixed64:
                    Need(8, label);
                    _input.ReadFixed64();
                    break;
                default: Bytes(wire, label, out _); break;
            }
        }

        private ulong Varint(WireFormat.WireType wire, string field)
        {
            Expect(wire, WireFormat.WireType.Varint, field);
            try
            {
                return _input.ReadUInt64();
            }
            catch (InvalidProtocolBufferException e)
            {
                throw Bad(field, FieldStart, "is not a valid varint (cut short or longer than 10 bytes)", e);
            }
        }

        /// <summary>A length-delimited field's bytes; <paramref name="at"/> is where they start in the file.</summary>
        private ReadOnlySpan<byte> Bytes(WireFormat.WireType wire, string field, out long at)
        {
            Expect(wire, WireFormat.WireType.LengthDelimited, field);
            int claimed;
            try
            {
                claimed = _input.ReadLength();
            }
            catch (InvalidProtocolBufferException e)
            {
                throw Bad(field, FieldStart, "has a length that is not a valid varint (cut short or longer than 10 bytes)", e);
            }
            at = Offset;
            long left = _end - at;
            if (claimed < 0 || claimed > left) throw Bad(field, FieldStart, $"claims {(uint)claimed} bytes but {left} are left in {_name}");
            int payload = (int)at;
            Restart(payload + claimed);
            return _data.AsSpan(payload, claimed);
        }

        [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(_input))]
        private void Restart(int offset)
        {
            _input = new CodedInputStream(_data, offset, _end - offset);
            _origin = offset;
            _base = _input.Position;
        }

        private void Need(int bytes, string field)
        {
            long left = _end - Offset;
            if (left < bytes) throw Bad(field, FieldStart, $"needs {bytes} bytes but {left} are left in {_name}");
        }

        private void Expect(WireFormat.WireType actual, WireFormat.WireType expected, string field)
        {
            if (actual != expected) throw Bad(field, FieldStart, $"has wire type {(int)actual} ({actual}), not {(int)expected} ({expected})");
        }
    }
}
