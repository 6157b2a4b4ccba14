using System.Text;
using System.Text.Json.Nodes;
using WeightSpace.Formats;
using WeightSpace.Formats.Gguf;
using WeightSpace.Formats.Safetensors;
using WeightSpace.Tests.Formats.SentencePiece;

namespace WeightSpace.Tests.Formats.Gguf;

/// <summary>A Llama-2-style Hugging Face folder built in the test: a SentencePiece BPE vocabulary trained here on the
/// repository's README (Llama 2's layout: &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, the 256 byte pieces, merged pieces scored
/// -rank, then single characters scored below every merge), its tokenizer.model, the tokenizer.json transformers'
/// LlamaConverter makes of it, and random weights of a one-layer Llama with that vocabulary.</summary>
internal sealed class SentencePieceLlamaFixture
{
    public const string Space = "\u2581";
    private const int Merges = 300;

    private SentencePieceLlamaFixture(string folder, string[] pieces, float[] scores, int[] types)
    {
        Folder = folder;
        Pieces = pieces;
        Scores = scores;
        Types = types;
    }

    /// <summary>The Hugging Face folder (config.json, tokenizer.model, tokenizer.json, tokenizer_config.json, model.safetensors).</summary>
    public string Folder { get; }

    /// <summary>Pieces in id order.</summary>
    public string[] Pieces { get; }

    /// <summary>Scores in id order.</summary>
    public float[] Scores { get; }

    /// <summary>SentencePiece types (1 normal, 2 unknown, 3 control, 6 byte) in id order.</summary>
    public int[] Types { get; }

    /// <summary>A text the vocabulary was not trained on, with characters outside it (byte fallback).</summary>
    public static string UnseenText => File.ReadAllText(Path.Combine(SharedData.RepositoryRoot, "docs", "formats-gguf.md"))[..6000]
        + " réglé → 日本語 🙂 tab\there";

    /// <summary>Builds the folder; <paramref name="withTokenizerModel"/> false leaves tokenizer.model out (the LlamaHfVocab path).</summary>
    public static SentencePieceLlamaFixture Create(bool withTokenizerModel = true)
    {
        string corpus = File.ReadAllText(Path.Combine(SharedData.RepositoryRoot, "README.md"));
        var (merged, characters) = Train(Space + corpus.Replace(" ", Space, StringComparison.Ordinal));
        var pieces = new List<(string Piece, float Score, int Type)> { ("<unk>", 0, 2), ("<s>", 0, 3), ("</s>", 0, 3) };
        pieces.AddRange(Enumerable.Range(0, 256).Select(b => ($"<0x{b:X2}>", 0f, 6)));
        pieces.AddRange(merged.Select((p, rank) => (p, (float)-rank, 1)));
        pieces.AddRange(characters.Select((c, k) => (c, (float)-(merged.Count + k), 1)));

        string folder = SharedData.TempFolder();
        string[] tokens = [.. pieces.Select(p => p.Piece)];
        float[] scores = [.. pieces.Select(p => p.Score)];
        if (withTokenizerModel) File.WriteAllBytes(Path.Combine(folder, "tokenizer.model"), SentencePieceModelWriter.Write(pieces));
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), TokenizerJson(tokens, scores));
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"),
            """{"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": true, "add_eos_token": false, "tokenizer_class": "LlamaTokenizer"}""");
        WriteModel(folder, tokens.Length);
        return new SentencePieceLlamaFixture(folder, tokens, scores, [.. pieces.Select(p => p.Type)]);
    }

    /// <summary>SentencePiece BPE training: words start at each ▁; repeatedly merge the most frequent adjacent pair
    /// (ties: the ordinally smallest); characters seen fewer than twice are left to byte fallback.</summary>
    private static (List<string> Merged, List<string> Characters) Train(string normalized)
    {
        var charCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var rune in normalized.EnumerateRunes()) charCounts[rune.ToString()] = charCounts.GetValueOrDefault(rune.ToString()) + 1;
        var characters = charCounts.Where(kv => kv.Value >= 2).OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key).ToList();
        var known = characters.ToHashSet(StringComparer.Ordinal);

        var words = new Dictionary<string, int>(StringComparer.Ordinal);
        int start = 0;
        for (int i = 1; i <= normalized.Length; i++)
        {
            if (i < normalized.Length && !normalized.AsSpan(i).StartsWith(Space)) continue;
            string word = normalized[start..i];
            words[word] = words.GetValueOrDefault(word) + 1;
            start = i;
        }
        var split = words.Select(kv => (Symbols: kv.Key.EnumerateRunes().Select(r => r.ToString()).ToList(), Count: kv.Value)).ToList();
        var merged = new List<string>();
        while (merged.Count < Merges)
        {
            var pairs = new Dictionary<(string, string), int>();
            foreach (var (symbols, count) in split)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    if (known.Contains(symbols[i]) && known.Contains(symbols[i + 1]))
                        pairs[(symbols[i], symbols[i + 1])] = pairs.GetValueOrDefault((symbols[i], symbols[i + 1])) + count;
            if (pairs.Count == 0) break;
            var best = pairs.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key.Item1 + " " + kv.Key.Item2, StringComparer.Ordinal).First().Key;
            string piece = best.Item1 + best.Item2;
            if (!known.Add(piece)) continue;
            merged.Add(piece);
            foreach (var (symbols, _) in split)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    if (symbols[i] == best.Item1 && symbols[i + 1] == best.Item2) { symbols[i] = piece; symbols.RemoveAt(i + 1); }
        }
        return (merged, characters);
    }

    /// <summary>transformers' LlamaConverter output (legacy normalizer, byte fallback, merges as its
    /// SentencePieceExtractor orders them), with the three specials as added tokens.</summary>
    private static string TokenizerJson(string[] tokens, float[] scores)
    {
        var ids = tokens.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i, StringComparer.Ordinal);
        var vocab = new JsonObject();
        for (int i = 0; i < tokens.Length; i++) vocab[tokens[i]] = i;
        var json = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray([.. new[] { 0, 1, 2 }.Select(i => (JsonNode)new JsonObject { ["id"] = i, ["content"] = tokens[i], ["special"] = true, ["normalized"] = false })]),
            ["normalizer"] = JsonNode.Parse("{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Prepend\", \"prepend\": \"▁\"}, {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"▁\"}]}"),
            ["pre_tokenizer"] = null,
            ["post_processor"] = null,
            ["decoder"] = JsonNode.Parse("{\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\", \"pattern\": {\"String\": \"▁\"}, \"content\": \" \"}, {\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"}, {\"type\": \"Strip\", \"content\": \" \", \"start\": 1, \"stop\": 0}]}"),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["unk_token"] = "<unk>", ["fuse_unk"] = true, ["byte_fallback"] = true, ["vocab"] = vocab,
                ["merges"] = new JsonArray([.. GgufHfExport.SentencePieceMerges(tokens, scores, ids).Select(m => (JsonNode)m)]),
            },
        };
        return json.ToJsonString();
    }

    private static void WriteModel(string folder, int vocab)
    {
        const int hidden = 64, intermediate = 128, heads = 4, kvHeads = 2, headDim = hidden / heads;
        File.WriteAllText(Path.Combine(folder, "config.json"), $$"""
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": {{hidden}}, "intermediate_size": {{intermediate}},
             "num_hidden_layers": 1, "num_attention_heads": {{heads}}, "num_key_value_heads": {{kvHeads}}, "vocab_size": {{vocab}},
             "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": false,
             "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}
            """);
        var shapes = new (string Name, long[] Shape)[]
        {
            ("model.embed_tokens.weight", [vocab, hidden]), ("lm_head.weight", [vocab, hidden]), ("model.norm.weight", [hidden]),
            ("model.layers.0.input_layernorm.weight", [hidden]), ("model.layers.0.post_attention_layernorm.weight", [hidden]),
            ("model.layers.0.self_attn.q_proj.weight", [hidden, hidden]), ("model.layers.0.self_attn.k_proj.weight", [kvHeads * headDim, hidden]),
            ("model.layers.0.self_attn.v_proj.weight", [kvHeads * headDim, hidden]), ("model.layers.0.self_attn.o_proj.weight", [hidden, hidden]),
            ("model.layers.0.mlp.gate_proj.weight", [intermediate, hidden]), ("model.layers.0.mlp.up_proj.weight", [intermediate, hidden]),
            ("model.layers.0.mlp.down_proj.weight", [hidden, intermediate]),
        };
        var infos = shapes.Select(s => new TensorInfo(s.Name, DType.F32, new Shape(s.Shape))).ToList();
        var random = new Random(20261203);
        using var writer = SafetensorsWriter.Create(Path.Combine(folder, "model.safetensors"), infos);
        foreach (var (name, shape) in shapes)
        {
            var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
            for (int i = 0; i < values.Length; i++) values[i] = shape.Length == 1 ? 1f : (float)(random.NextDouble() - 0.5) * 0.1f;
            writer.Write(name, values);
        }
        writer.Commit();
    }

    /// <summary>The text as UTF-8 bytes.</summary>
    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
