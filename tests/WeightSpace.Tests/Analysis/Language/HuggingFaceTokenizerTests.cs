using System.Text;
using CsCheck;
using WeightSpace.Analysis.Language;

namespace WeightSpace.Tests.Analysis.Language;

/// <summary>tokenizer.json: the tiny models' byte-level vocabulary, hand-made byte-level and SentencePiece-style BPE
/// with hand-worked encodings, and hostile input.</summary>
public sealed class HuggingFaceTokenizerTests
{
    private static HuggingFaceTokenizer Parse(string json) => HuggingFaceTokenizer.Parse(Encoding.UTF8.GetBytes(json), "tokenizer.json");

    [Fact]
    public void Encode_TinyLlamaByteVocabulary_GivesTheBytes()
    {
        var tokenizer = HuggingFaceTokenizer.Load(TinyLlama.Folder("base"));
        Assert.Equal(TokenizerKind.ByteLevelBpe, tokenizer.Kind);
        Assert.Equal(256, tokenizer.VocabularySize);
        byte[] text = Encoding.UTF8.GetBytes("int main(void) {\n\tréglé → 日本 'tis\r\n");
        Assert.Equal(text.Select(b => (int)b), tokenizer.Encode(text, "t"));
        Assert.All(Enumerable.Range(0, 256), id => Assert.Equal(1, tokenizer.ByteLength(id)));
    }

    [Fact]
    public void Encode_TinyLlamaEvalText_IsTheByteValues()
    {
        var tokenizer = HuggingFaceTokenizer.Load(TinyLlama.Folder("base"));
        byte[] text = File.ReadAllBytes(TinyLlama.Text("python"));
        Assert.Equal(text.Select(b => (int)b), tokenizer.Encode(text, "python.txt"));
    }

    // GPT-2 byte alphabet: printable ASCII maps to itself, space to Ġ. Merges by rank: "a b" first, then "Ġ ab".
    private const string ByteLevelBpe = """
        {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "Ġ": 2, "ab": 3, "Ġab": 4, "c": 5}, "merges": ["a b", ["Ġ", "ab"]]},
         "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}, "added_tokens": [{"id": 6, "content": "<|end|>"}]}
        """;

    [Fact]
    public void Encode_ByteLevelMerges_AppliedWithinPreTokens()
    {
        var tokenizer = Parse(ByteLevelBpe);
        // "ab ab cab": pre-tokens "ab", " ab", " cab" → [ab] [Ġab] [Ġ, c, ab].
        Assert.Equal([3, 4, 2, 5, 3], tokenizer.Encode("ab ab cab"u8, "t"));
        Assert.Equal(7, tokenizer.VocabularySize);
        Assert.Equal(3, tokenizer.ByteLength(4));
    }

    // Llama 2 style: ▁ for spaces, a ▁ prepended, byte fallback for characters outside the vocabulary.
    private static string SentencePiece()
    {
        var vocab = new List<string> { "<unk>", "▁", "h", "i", "▁h", "▁hi", "!" };
        vocab.AddRange(Enumerable.Range(0, 256).Select(b => $"<0x{b:X2}>"));
        string entries = string.Join(", ", vocab.Select((t, i) => $"\"{t}\": {i}"));
        return "{\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Prepend\", \"prepend\": \"▁\"}, {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"▁\"}]}, "
            + "\"pre_tokenizer\": null, \"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"byte_fallback\": true, \"fuse_unk\": true, \"vocab\": {" + entries + "}, \"merges\": [\"▁ h\", \"▁h i\"]}}";
    }

    [Fact]
    public void Encode_SentencePieceStyle_PrependsReplacesAndFallsBackToBytes()
    {
        var tokenizer = Parse(SentencePiece());
        Assert.Equal(TokenizerKind.SentencePieceBpe, tokenizer.Kind);
        // "hi hé!" → "▁hi▁hé!" → ▁hi, ▁h, é = bytes C3 A9 → <0xC3> <0xA9>, !.
        int c3 = 7 + 0xC3, a9 = 7 + 0xA9;
        Assert.Equal([5, 4, c3, a9, 6], tokenizer.Encode("hi hé!"u8, "t"));
        Assert.Equal(3, tokenizer.ByteLength(5));   // "▁hi" stands for " hi"
        Assert.Equal(1, tokenizer.ByteLength(c3));
    }

    [Fact]
    public void Encode_InvalidUtf8_ThrowsWithOffset()
    {
        var tokenizer = Parse(ByteLevelBpe);
        var e = Assert.Throws<InvalidTextException>(() => tokenizer.Encode([0x61, 0x62, 0xFF, 0x61], "x.txt"));
        Assert.Contains("x.txt", e.Message);
        Assert.Contains("byte 2", e.Message);
    }

    [Theory]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}", "model.type", typeof(UnsupportedModelException))]
    [InlineData("{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\", 0.0]]}}", "model.type", typeof(UnsupportedModelException))]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, \"normalizer\": {\"type\": \"NFKC\"}}", "normalizer.type", typeof(UnsupportedModelException))]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}, \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}}", "pre_tokenizer.type", typeof(UnsupportedModelException))]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"dropout\": 0.1}}", "model.dropout", typeof(UnsupportedModelException))]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 0}}}", "model.vocab", typeof(InvalidModelConfigException))]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -1}}}", "model.vocab", typeof(InvalidModelConfigException))]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 1.5}}}", "model.vocab", typeof(InvalidModelConfigException))]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {}}}", "model.vocab", typeof(InvalidModelConfigException))]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": []}}", "model.vocab", typeof(InvalidModelConfigException))]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a c\"]}}", "model.merges", typeof(InvalidModelConfigException))]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"ab\"]}}", "model.merges", typeof(InvalidModelConfigException))]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [[\"a\"]]}}", "model.merges", typeof(InvalidModelConfigException))]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"byte_fallback\": true}}", "model.byte_fallback", typeof(InvalidModelConfigException))]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"unk_token\": \"<unk>\"}}", "model.unk_token", typeof(InvalidModelConfigException))]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}, \"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}}", "pre_tokenizer.pattern", typeof(InvalidModelConfigException))]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}, \"added_tokens\": [{\"id\": -3, \"content\": \"x\"}]}", "added_tokens[].id", typeof(InvalidModelConfigException))]
    [InlineData("{\"model\": 5}", "model", typeof(InvalidModelConfigException))]
    public void Parse_Hostile_ThrowsTypedErrorNamingTheKey(string json, string key, Type type)
    {
        var e = Assert.ThrowsAny<WeightSpaceException>(() => Parse(json));
        Assert.IsType(type, e);
        Assert.Contains(key, e.Message);
        Assert.Contains("tokenizer.json", e.Message);
    }

    [Fact]
    public void Parse_MutatedRealTokenizer_ThrowsOnlyTypedErrors()
    {
        byte[] real = File.ReadAllBytes(Path.Combine(TinyLlama.Folder("base"), "tokenizer.json"));
        Gen.Select(Gen.Int[0, real.Length - 1], Gen.Byte, Gen.Int[0, 2]).Sample((at, value, kind) =>
        {
            var bytes = real.ToList();
            if (kind == 0) bytes[at] = value;
            else if (kind == 1) bytes.Insert(at, value);
            else bytes.RemoveRange(at, Math.Min(real.Length - at, 1 + value % 64));
            try
            {
                var tokenizer = HuggingFaceTokenizer.Parse(bytes.ToArray(), "tokenizer.json");
                tokenizer.Encode("Hello, wörld!\n"u8, "t");
            }
            catch (WeightSpaceException) { }
        }, iter: 500);
    }
}
