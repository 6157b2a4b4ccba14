using System.Text;
using System.Text.Json.Nodes;
using WeightSpace.Analysis.Language;
using WeightSpace.Formats;
using WeightSpace.Formats.Gguf;

namespace WeightSpace.Tests.Formats.Gguf;

/// <summary>SentencePiece (<c>tokenizer.ggml.model = llama</c>) vocabularies: written from a tokenizer.model or a
/// SentencePiece-style tokenizer.json as convert_hf_to_gguf.py writes them, read back as transformers'
/// GGUFLlamaConverter builds a tokenizer.json, and tokenised by llama.cpp itself against our tokenizer.</summary>
public sealed class GgufSentencePieceTests(ITestOutputHelper output)
{
    private static readonly GgufOptions Stored = new() { Naming = GgufNaming.Gguf };

    private static string WriteGguf(string folder, string name = "sp.gguf")
    {
        string gguf = Path.Combine(SharedData.TempFolder(), name);
        GgufHfImport.Write(folder, gguf, DType.F32);
        return gguf;
    }

    private static int[] OurIds(string tokenizerJson, string text) =>
        HuggingFaceTokenizer.Parse(Encoding.UTF8.GetBytes(tokenizerJson), "tokenizer.json").Encode(text, "text");

    [Fact]
    public void FromTokenizerModel_WritesThePiecesScoresAndTypes_AsTheConverter()
    {
        var fixture = SentencePieceLlamaFixture.Create();
        using var gguf = GgufReader.Open(WriteGguf(fixture.Folder), Stored);
        Assert.Equal("llama", gguf.Find("tokenizer.ggml.model")!.Value);
        Assert.Equal("default", gguf.Find("tokenizer.ggml.pre")!.Value);
        Assert.Equal(fixture.Pieces, (string[])gguf.Find("tokenizer.ggml.tokens")!.Value);
        Assert.Equal(fixture.Scores, (float[])gguf.Find("tokenizer.ggml.scores")!.Value);
        Assert.Equal(fixture.Types, (int[])gguf.Find("tokenizer.ggml.token_type")!.Value);
        Assert.Equal(GgufValueType.Float32, gguf.Find("tokenizer.ggml.scores")!.ElementType);
        Assert.Equal(1u, gguf.Find("tokenizer.ggml.bos_token_id")!.Value);
        Assert.Equal(2u, gguf.Find("tokenizer.ggml.eos_token_id")!.Value);
        Assert.Equal(0u, gguf.Find("tokenizer.ggml.unknown_token_id")!.Value);
        Assert.Equal(true, gguf.Find("tokenizer.ggml.add_bos_token")!.Value);
        Assert.Null(gguf.Find("tokenizer.ggml.merges"));
        Assert.Null(gguf.Find("tokenizer.ggml.add_space_prefix"));   // the converter leaves llama.cpp's default (true)
    }

    [Fact]
    public void FromTokenizerModel_PadsToVocabSize_AndAppliesAddedTokens_AsTheConverter()
    {
        var fixture = SentencePieceLlamaFixture.Create();
        int n = fixture.Pieces.Length;
        EditJson(Path.Combine(fixture.Folder, "config.json"), o => o["vocab_size"] = n + 3);
        File.WriteAllText(Path.Combine(fixture.Folder, "added_tokens.json"), $"{{\"<extra>\": {n}, \"<far>\": {n + 50}}}");
        EditJson(Path.Combine(fixture.Folder, "tokenizer_config.json"), o => o["added_tokens_decoder"] = JsonNode.Parse(
            $"{{\"{n + 1}\": {{\"content\": \"<|im_start|>\", \"special\": false}}, \"3\": {{\"content\": \"hi\u2581there\", \"special\": false}}}}"));
        ResizeVocabulary(fixture.Folder, n + 3);
        using var gguf = GgufReader.Open(WriteGguf(fixture.Folder), Stored);
        var tokens = (string[])gguf.Find("tokenizer.ggml.tokens")!.Value;
        var scores = (float[])gguf.Find("tokenizer.ggml.scores")!.Value;
        var types = (int[])gguf.Find("tokenizer.ggml.token_type")!.Value;
        Assert.Equal(n + 3, tokens.Length);
        // added_tokens.json: USER_DEFINED at -1000 (the id past vocab_size is ignored); added_tokens_decoder: <|…|> looks
        // special → CONTROL; a plain one is USER_DEFINED with ▁ pre-normalised to a space; the rest is [PADn], UNUSED, -10000.
        Assert.Equal(["<extra>", "<|im_start|>", $"[PAD{n + 2}]"], tokens[n..]);
        Assert.Equal([4, 3, 5], types[n..]);
        Assert.Equal([-1000f, -1000f, -10000f], scores[n..]);
        Assert.Equal(("hi there", 4, -1000f), (tokens[3], types[3], scores[3]));
    }

    [Fact]
    public void FromTokenizerModelWithoutDummyPrefix_WritesAddSpacePrefixFalse_AndTheExportDropsThePrepend()
    {
        var fixture = SentencePieceLlamaFixture.Create();
        var pieces = fixture.Pieces.Select((p, i) => (p, fixture.Scores[i], fixture.Types[i])).ToList();
        File.WriteAllBytes(Path.Combine(fixture.Folder, "tokenizer.model"), SentencePiece.SentencePieceModelWriter.Write(pieces, addDummyPrefix: false));
        using var gguf = GgufReader.Open(WriteGguf(fixture.Folder));
        Assert.Equal(false, gguf.Find("tokenizer.ggml.add_space_prefix")!.Value);
        string json = GgufHfExport.TokenizerJsonOf(gguf, out _)!;
        Assert.DoesNotContain("Prepend", json, StringComparison.Ordinal);
        Assert.NotEqual(OurIds(File.ReadAllText(Path.Combine(fixture.Folder, "tokenizer.json")), "the"), OurIds(json, "the"));
    }

    [Fact]
    public void FromTokenizerJsonOnly_TypesAsLlamaHfVocab_AndScoresByMergeRank()
    {
        var fixture = SentencePieceLlamaFixture.Create(withTokenizerModel: false);
        using var gguf = GgufReader.Open(WriteGguf(fixture.Folder), Stored);
        Assert.Equal("llama", gguf.Find("tokenizer.ggml.model")!.Value);
        Assert.Equal(fixture.Pieces, (string[])gguf.Find("tokenizer.ggml.tokens")!.Value);
        var types = (int[])gguf.Find("tokenizer.ggml.token_type")!.Value;
        var scores = (float[])gguf.Find("tokenizer.ggml.scores")!.Value;
        // LlamaHfVocab: the specials (bos, eos and unk of tokenizer_config.json) CONTROL, <0xXX> BYTE, the rest NORMAL.
        Assert.Equal([3, 3, 3], types[..3]);
        Assert.All(types[3..259], t => Assert.Equal(6, t));
        Assert.All(types[259..], t => Assert.Equal(1, t));
        // Merged pieces rank as the tokenizer.json's merges make them: the same order as the model's own scores.
        int[] byOurScore = [.. Enumerable.Range(259, fixture.Pieces.Length - 259).OrderByDescending(i => scores[i])];
        int[] byModelScore = [.. Enumerable.Range(259, fixture.Pieces.Length - 259).OrderByDescending(i => fixture.Scores[i])];
        Assert.Equal(byModelScore, byOurScore);
    }

    [Fact]
    public void SentencePieceMerges_AreTransformersOrder_HandWorked()
    {
        // Ids not in score order: abc (id 3, -3) comes before ab (-1) and bc (-2). Every merge ranks by its whole token's
        // score: "a b" (ab, -1), "b c" (bc, -2), then abc's two splits ordered by their halves' scores: ab+c (ab -1)
        // before a+bc (a -4).
        string[] tokens = ["a", "b", "c", "abc", "ab", "bc"];
        float[] scores = [-4, -5, -6, -3, -1, -2];
        var ids = tokens.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i, StringComparer.Ordinal);
        Assert.Equal(["a b", "b c", "ab c", "a bc"], GgufHfExport.SentencePieceMerges(tokens, scores, ids));
    }

    [Fact]
    public void SentencePieceMerges_OfAHostileMegaToken_StopAtTheWorkBound()
    {
        string[] tokens = ["a", new('a', 100_000)];
        var ids = tokens.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i, StringComparer.Ordinal);
        var e = Assert.Throws<InvalidGgufException>(() => GgufHfExport.SentencePieceMerges(tokens, [0, -1], ids, "big.gguf"));
        Assert.Contains("token 1 (100000 characters)", e.Message, StringComparison.Ordinal);
        Assert.Contains("big.gguf", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Export_OfALlamaVocabulary_IsTheTokenizerTransformersBuilds_AndEncodesAsTheOriginal()
    {
        var fixture = SentencePieceLlamaFixture.Create();
        using var gguf = GgufReader.Open(WriteGguf(fixture.Folder));
        string exported = GgufHfExport.TokenizerJsonOf(gguf, out string? skipped)!;
        Assert.Null(skipped);
        var json = JsonNode.Parse(exported)!;
        Assert.Equal("BPE", (string?)json["model"]!["type"]);
        Assert.True((bool)json["model"]!["byte_fallback"]!);
        Assert.Equal("<unk>", (string?)json["model"]!["unk_token"]);
        // GGUFLlamaConverter adds the CONTROL tokens (type 3) as special; <unk> is UNKNOWN (2) and stays a vocabulary entry.
        Assert.Equal(["<s>", "</s>"], json["added_tokens"]!.AsArray().Select(t => (string)t!["content"]!));
        string original = File.ReadAllText(Path.Combine(fixture.Folder, "tokenizer.json"));
        Assert.Equal(JsonNode.Parse(original)!["model"]!["merges"]!.ToJsonString(), json["model"]!["merges"]!.ToJsonString());

        string text = SentencePieceLlamaFixture.UnseenText;
        int[] expected = OurIds(original, text);
        Assert.Equal(expected, OurIds(exported, text));
        // eval reads a llama GGUF's tokenizer the same way.
        Assert.Equal(expected, GgufModelConfig.Tokenizer(gguf).Encode(text, "text"));
        Assert.Contains(3 + 0xE6, expected);   // 日 (E6 97 A5) is outside the vocabulary: byte fallback
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void LlamaCpp_TokenisesOurGguf_AsOurTokenizerDoes(bool withTokenizerModel)
    {
        LlamaCpp.RequireBackend();
        var fixture = SentencePieceLlamaFixture.Create(withTokenizerModel);
        string gguf = WriteGguf(fixture.Folder);
        string text = SentencePieceLlamaFixture.UnseenText;
        int[] ours = OurIds(File.ReadAllText(Path.Combine(fixture.Folder, "tokenizer.json")), text);
        int[] llama = LlamaCpp.Tokenize(gguf, text);
        output.WriteLine($"{(withTokenizerModel ? "tokenizer.model" : "tokenizer.json")}: {ours.Length} tokens ours, {llama.Length} llama.cpp, {text.Length} characters");
        Assert.Equal(ours, llama);
    }

    [Fact]
    public void LlamaCpp_WithGgufPysPlaceholderScores_TokenisesDifferently()
    {
        // Why WeightSpace does not copy gguf-py's LlamaHfVocab score (-1000 for every token): llama.cpp then merges
        // leftmost-first instead of by the tokenizer's merge order.
        LlamaCpp.RequireBackend();
        var fixture = SentencePieceLlamaFixture.Create(withTokenizerModel: false);
        string gguf = WriteGguf(fixture.Folder);
        string placeholder = Path.Combine(SharedData.TempFolder(), "placeholder.gguf");
        Rewrite(gguf, placeholder, metadata => [.. metadata.Select(kv => kv.Key == "tokenizer.ggml.scores"
            ? new KeyValuePair<string, GgufValue>(kv.Key, new GgufValue(GgufValueType.Array, Enumerable.Repeat(-1000f, kv.Value.Count).ToArray(), GgufValueType.Float32))
            : kv)]);
        string text = SentencePieceLlamaFixture.UnseenText;
        int[] ours = OurIds(File.ReadAllText(Path.Combine(fixture.Folder, "tokenizer.json")), text);
        Assert.Equal(ours, LlamaCpp.Tokenize(gguf, text));
        int[] wrong = LlamaCpp.Tokenize(placeholder, text);
        int same = ours.Zip(wrong).TakeWhile(p => p.First == p.Second).Count();
        output.WriteLine($"placeholder scores: {wrong.Length} tokens against {ours.Length}; first difference at token {same}");
        Assert.NotEqual(ours, wrong);
    }

    [Theory]
    [InlineData("decoder", "{\"type\": \"Metaspace\"}", "decoder 'Metaspace' is not a Llama tokenizer")]
    [InlineData("decoder", "null", "decoder '(absent)'")]
    public void ByteFallbackTokenizerJson_WithoutASequenceDecoder_IsRefused(string key, string json, string expected)
    {
        var fixture = SentencePieceLlamaFixture.Create(withTokenizerModel: false);
        EditJson(Path.Combine(fixture.Folder, "tokenizer.json"), o => o[key] = JsonNode.Parse(json));
        var e = Assert.Throws<UnsupportedFormatException>(() => WriteGguf(fixture.Folder));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("tokenizer.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DamagedTokenizerModel_IsRefusedNamingTheFile_AndNothingIsWritten()
    {
        var fixture = SentencePieceLlamaFixture.Create();
        string model = Path.Combine(fixture.Folder, "tokenizer.model");
        byte[] bytes = File.ReadAllBytes(model);
        File.WriteAllBytes(model, bytes[..(bytes.Length / 2)]);
        string gguf = Path.Combine(SharedData.TempFolder(), "damaged.gguf");
        var e = Assert.Throws<InvalidCheckpointException>(() => GgufHfImport.Write(fixture.Folder, gguf, DType.F32));
        Assert.Contains("tokenizer.model", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(gguf));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(gguf)!));
    }

    [Fact]
    public void LlamaVocabulary_WithoutScoresOrWithDuplicates_IsRefusedOnExport()
    {
        var fixture = SentencePieceLlamaFixture.Create();
        string gguf = WriteGguf(fixture.Folder);
        string broken = Path.Combine(SharedData.TempFolder(), "noscores.gguf");
        Rewrite(gguf, broken, metadata => [.. metadata.Where(kv => kv.Key != "tokenizer.ggml.scores")]);
        using var noScores = GgufReader.Open(broken);
        var e = Assert.Throws<InvalidGgufException>(() => GgufHfExport.TokenizerJsonOf(noScores, out _));
        Assert.Contains("tokenizer.ggml.scores", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Copies a GGUF file's tensors with edited metadata.</summary>
    private static void Rewrite(string source, string destination, Func<IReadOnlyList<KeyValuePair<string, GgufValue>>, List<KeyValuePair<string, GgufValue>>> edit)
    {
        using var store = GgufReader.Open(source, Stored);
        var tensors = store.StoredTensors.Select(t => new GgufTensorToWrite(t.Name, [.. t.Ne], t.DType, () =>
        {
            using var buffer = store.Read(t.Name);
            return buffer.Bytes.ToArray();
        })).ToList();
        GgufFileWriter.Write(destination, edit(store.KeyValues), tensors, GgufHfImport.Alignment);
    }

    private static void EditJson(string path, Action<JsonObject> edit)
    {
        var o = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(o);
        File.WriteAllText(path, o.ToJsonString());
    }

    /// <summary>Rewrites the fixture's embedding and lm_head with <paramref name="vocab"/> rows.</summary>
    private static void ResizeVocabulary(string folder, int vocab)
    {
        string path = Path.Combine(folder, "model.safetensors");
        string temp = path + ".old";
        File.Move(path, temp);
        using (var store = Checkpoint.Open(temp))
        {
            var infos = store.Tensors.Select(t => t.Name is "model.embed_tokens.weight" or "lm_head.weight"
                ? new TensorInfo(t.Name, DType.F32, new Shape(vocab, t.Shape[1])) : t).ToList();
            using var writer = WeightSpace.Formats.Safetensors.SafetensorsWriter.Create(path, infos);
            foreach (var info in infos)
            {
                float[] values = store.ReadSingle(info.Name);
                Array.Resize(ref values, checked((int)info.Shape.ElementCount));
                writer.Write(info.Name, values);
            }
            writer.Commit();
        }
        File.Delete(temp);
    }
}
