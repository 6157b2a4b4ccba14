using WeightSpace.Formats.SentencePiece;

namespace WeightSpace.Formats.Gguf;

/// <summary>The <c>tokenizer.ggml.*</c> metadata of a Hugging Face folder's tokenizer, as convert_hf_to_gguf.py
/// (<c>LlamaModel.set_vocab</c>) and gguf-py (<c>LlamaHfVocab</c>, <c>SpecialVocab</c>) write it.</summary>
/// <remarks>
/// Three vocabularies, tried in the converter's order. A SentencePiece <c>tokenizer.model</c>: <c>llama</c>, the pieces
/// with their scores and types (<c>_create_vocab_sentencepiece</c>). A SentencePiece-style BPE tokenizer.json
/// (<c>byte_fallback</c>): <c>llama</c> as LlamaHfVocab types it, with scores from the merge ranks (see
/// <see cref="LlamaHfVocabulary"/>). A byte-level BPE tokenizer.json: <c>gpt2</c> (<c>_set_vocab_gpt2</c>): tokens in
/// id order; an id the vocabulary lacks becomes <c>[PADn]</c> (USER_DEFINED); added tokens are CONTROL when special,
/// else USER_DEFINED; the rest NORMAL; merges as "a b" strings (an empty array when there are none: llama.cpp refuses
/// a gpt2 vocabulary without the key); the pre-tokenizer is written as <c>default</c> (the converter names it by
/// hashing transformers' output on its test text, which needs transformers; <c>default</c> is llama.cpp's GPT-2 split).
/// For all three, special token ids from tokenizer_config.json (<c>bos_token</c>, … as strings or
/// <c>{"content": …}</c>) looked up among the tokens, else config.json's <c>*_token_id</c>;
/// <c>add_bos_token</c>/<c>add_eos_token</c> and <c>chat_template</c> from tokenizer_config.json. Unigram and WordPiece
/// tokenizer.json models are refused by name.
/// </remarks>
internal static class GgufTokenizerImport
{
    private const int Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6;

    private static readonly (string Name, string Key)[] SpecialTokens =
    [
        ("bos", "tokenizer.ggml.bos_token_id"), ("eos", "tokenizer.ggml.eos_token_id"), ("unk", "tokenizer.ggml.unknown_token_id"),
        ("sep", "tokenizer.ggml.seperator_token_id"), ("pad", "tokenizer.ggml.padding_token_id"), ("cls", "tokenizer.ggml.cls_token_id"),
        ("mask", "tokenizer.ggml.mask_token_id"),
    ];

    /// <summary>The metadata, and the vocabulary size (config.json's <c>vocab_size</c>, else the tokenizer's size),
    /// chosen as convert_hf_to_gguf.py's <c>LlamaModel.set_vocab</c> chooses: a SentencePiece <c>tokenizer.model</c>
    /// first (<c>llama</c> with its scores), else a SentencePiece-style tokenizer.json (<c>llama</c>, LlamaHfVocab), else
    /// byte-level BPE (<c>gpt2</c>).</summary>
    public static (List<KeyValuePair<string, GgufValue>> Metadata, int VocabSize) Read(string modelFolder, string configPath, int? configVocabSize)
    {
        string tokenizerPath = Path.Combine(modelFolder, "tokenizer.json");
        string? tokenizerConfigPath = Existing(modelFolder, "tokenizer_config.json");
        using var tokenizerConfig = tokenizerConfigPath is null ? null : GgufHfImport.ReadJson(tokenizerConfigPath, GgufHfImport.MaxConfigBytes);
        using var tokenizerJson = File.Exists(tokenizerPath) ? GgufHfImport.ReadJson(tokenizerPath, GgufHfImport.MaxTokenizerBytes) : null;
        string? sentencePiecePath = Existing(modelFolder, "tokenizer.model");

        List<KeyValuePair<string, GgufValue>> result;
        string[] tokens;
        if (sentencePiecePath is not null)
        {
            (result, tokens) = SentencePieceVocabulary(sentencePiecePath, Existing(modelFolder, "added_tokens.json"), tokenizerConfigPath, tokenizerConfig, configVocabSize);
        }
        else
        {
            if (tokenizerJson is null)
                throw new FileNotFoundException($"{modelFolder}: no tokenizer.json or tokenizer.model (writing GGUF needs the Hugging Face folder's tokenizer)", tokenizerPath);
            var root = tokenizerJson.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
                throw Bad(tokenizerPath, "model", "is missing or not an object");
            string? type = model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (type != "BPE")
                throw new UnsupportedFormatException(tokenizerPath, $"tokenizer model '{type ?? "(absent)"}' is not written as GGUF by WeightSpace (BPE is: byte-level as gpt2, SentencePiece-style or a tokenizer.model as llama)");
            (result, tokens) = model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True
                ? LlamaHfVocabulary(tokenizerPath, root, model, tokenizerConfig, configVocabSize)
                : Gpt2Vocabulary(tokenizerPath, root, model, configPath, configVocabSize);
        }
        AddSpecialVocabulary(result, tokens, tokenizerConfig, configPath);
        return (result, tokens.Length);
    }

    private static string? Existing(string folder, string file) => File.Exists(Path.Combine(folder, file)) ? Path.Combine(folder, file) : null;

    /// <summary>convert_hf_to_gguf.py's <c>_set_vocab_gpt2</c>: tokens in id order, types, merges.</summary>
    private static (List<KeyValuePair<string, GgufValue>>, string[]) Gpt2Vocabulary(string tokenizerPath, JsonElement root, JsonElement model, string configPath, int? configVocabSize)
    {
        if (!HasByteLevel(root))
            throw new UnsupportedFormatException(tokenizerPath, "pre_tokenizer has no ByteLevel step and the BPE has no byte_fallback; only byte-level BPE (GGUF tokenizer model gpt2) and SentencePiece-style BPE (llama) are written");
        var (byId, added, maxId) = ReadIds(tokenizerPath, root, model);
        int vocabSize = configVocabSize ?? maxId + 1;
        if (maxId >= vocabSize)
            throw Bad(tokenizerPath, "model.vocab", $"has id {maxId} but {configPath} has vocab_size {vocabSize}");

        var tokens = new string[vocabSize];
        var types = new int[vocabSize];
        for (int id = 0; id < vocabSize; id++)
        {
            if (!byId.TryGetValue(id, out string? token)) { tokens[id] = $"[PAD{id}]"; types[id] = UserDefined; continue; }
            if (added.TryGetValue(id, out var a))
            {
                types[id] = a.Special || LooksSpecial(token) ? Control : UserDefined;
                if (types[id] == UserDefined) token = token.Replace("\u2581", " ", StringComparison.Ordinal);   // pre-normalised spaces
            }
            else types[id] = Normal;
            tokens[id] = token;
        }
        return ([
            new("tokenizer.ggml.model", new GgufValue(GgufValueType.String, "gpt2")),
            new("tokenizer.ggml.pre", new GgufValue(GgufValueType.String, "default")),
            new("tokenizer.ggml.tokens", new GgufValue(GgufValueType.Array, tokens, GgufValueType.String)),
            new("tokenizer.ggml.token_type", new GgufValue(GgufValueType.Array, types, GgufValueType.Int32)),
            new("tokenizer.ggml.merges", new GgufValue(GgufValueType.Array, Merges(tokenizerPath, model), GgufValueType.String)),
        ], tokens);
    }

    /// <summary>convert_hf_to_gguf.py's <c>_create_vocab_sentencepiece</c>: the pieces with their scores and types,
    /// <c>[PADn]</c> (UNUSED, -10000) up to config.json's vocab_size, added_tokens.json entries as USER_DEFINED, and
    /// tokenizer_config.json's <c>added_tokens_decoder</c> as CONTROL (special) or USER_DEFINED, all with score -1000.</summary>
    private static (List<KeyValuePair<string, GgufValue>>, string[]) SentencePieceVocabulary(string modelPath, string? addedTokensPath, string? tokenizerConfigPath, JsonDocument? tokenizerConfig, int? configVocabSize)
    {
        var sp = SentencePieceModel.Read(modelPath);
        int vocabSize = configVocabSize ?? sp.Pieces.Count;
        var tokens = new string[vocabSize];
        var scores = new float[vocabSize];
        var types = new int[vocabSize];
        for (int id = 0; id < vocabSize; id++) (tokens[id], scores[id], types[id]) = ($"[PAD{id}]", -10000f, Unused);
        for (int id = 0; id < Math.Min(vocabSize, sp.Pieces.Count); id++)
        {
            var piece = sp.Pieces[id];
            // SentencePieceProcessor's IsUnknown/IsControl/IsUnused/IsByte; USER_DEFINED pieces stay NORMAL, as the converter leaves them.
            int type = piece.Type switch
            {
                SentencePieceType.Unknown => Unknown, SentencePieceType.Control => Control,
                SentencePieceType.Unused => Unused, SentencePieceType.Byte => Byte, _ => Normal,
            };
            (tokens[id], scores[id], types[id]) = (piece.Piece, piece.Score, type);
        }
        if (addedTokensPath is not null)
        {
            using var addedTokens = GgufHfImport.ReadJson(addedTokensPath, GgufHfImport.MaxConfigBytes);
            if (addedTokens.RootElement.ValueKind != JsonValueKind.Object) throw Bad(addedTokensPath, "(root)", "is not an object of token → id");
            foreach (var entry in addedTokens.RootElement.EnumerateObject())
            {
                int id = TokenId(addedTokensPath, entry.Name, entry.Value);
                if (id < vocabSize) (tokens[id], scores[id], types[id]) = (entry.Name, -1000f, UserDefined);
            }
        }
        if (tokenizerConfig?.RootElement is { ValueKind: JsonValueKind.Object } tc && tc.TryGetProperty("added_tokens_decoder", out var decoder) && decoder.ValueKind == JsonValueKind.Object)
        {
            foreach (var entry in decoder.EnumerateObject())
            {
                if (!int.TryParse(entry.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id) || id >= 1 << 24)
                    throw Bad(tokenizerConfigPath!, "added_tokens_decoder", $"key {Quote(entry.Name)} is not a token id in [0, 2^24)");
                if (entry.Value.ValueKind != JsonValueKind.Object || !entry.Value.TryGetProperty("content", out var c) || c.ValueKind != JsonValueKind.String)
                    throw Bad(tokenizerConfigPath!, $"added_tokens_decoder.{id}", "needs a string content");
                if (id >= vocabSize) continue;   // the converter warns and ignores it
                string content = c.GetString()!;
                bool special = entry.Value.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True || LooksSpecial(content);
                types[id] = special ? Control : UserDefined;
                tokens[id] = special ? content : content.Replace("\u2581", " ", StringComparison.Ordinal);
                scores[id] = -1000f;
            }
        }
        var result = LlamaMetadata(tokens, scores, types);
        // The converter does not write it for Llama (llama.cpp's default is true); a model trained without the dummy
        // prefix would be tokenised with one, so the key is written when the model says false.
        if (!sp.AddDummyPrefix) result.Add(new("tokenizer.ggml.add_space_prefix", new GgufValue(GgufValueType.Bool, false)));
        return (result, tokens);
    }

    /// <summary>gguf-py's <c>LlamaHfVocab</c> (a SentencePiece-style BPE tokenizer.json without tokenizer.model):
    /// the base vocabulary in id order (BYTE for <c>&lt;0xXX&gt;</c>, CONTROL for special tokens, else NORMAL), then
    /// added tokens past it (CONTROL when special, else USER_DEFINED), padded with <c>[PADn]</c> to config.json's
    /// vocab_size. Scores: gguf-py writes the same score, -1000, for every token, which leaves llama.cpp's SentencePiece
    /// tokenizer (highest score first, then leftmost) merging left to right; WeightSpace scores each token by the rank of
    /// the first merge that makes it (-rank), so llama.cpp merges in the tokenizer.json's order (docs/formats-gguf.md).</summary>
    private static (List<KeyValuePair<string, GgufValue>>, string[]) LlamaHfVocabulary(string tokenizerPath, JsonElement root, JsonElement model, JsonDocument? tokenizerConfig, int? configVocabSize)
    {
        var decoder = root.TryGetProperty("decoder", out var d) && d.ValueKind == JsonValueKind.Object && d.TryGetProperty("type", out var dt) && dt.ValueKind == JsonValueKind.String ? dt.GetString() : null;
        if (decoder != "Sequence")
            throw new UnsupportedFormatException(tokenizerPath, $"a byte_fallback BPE with decoder '{decoder ?? "(absent)"}' is not a Llama tokenizer (LlamaHfVocab needs a Sequence decoder)");
        var (byId, added, maxId) = ReadIds(tokenizerPath, root, model);
        int baseSize = model.GetProperty("vocab").EnumerateObject().Count();
        int vocabSize = Math.Max(configVocabSize ?? 0, maxId + 1);
        if (configVocabSize is int configured && maxId >= configured)
            throw Bad(tokenizerPath, "model.vocab", $"has id {maxId} but config.json has vocab_size {configured}");

        var special = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (content, isSpecial) in added.Values) if (isSpecial) special.Add(content);
        if (tokenizerConfig?.RootElement is { ValueKind: JsonValueKind.Object } tc)
        {
            foreach (var (name, _) in SpecialTokens)
                if (tc.TryGetProperty(name + "_token", out var v) && TokenContent(v) is { } content) special.Add(content);
            if (tc.TryGetProperty("additional_special_tokens", out var extra) && extra.ValueKind == JsonValueKind.Array)
                foreach (var v in extra.EnumerateArray()) if (TokenContent(v) is { } content) special.Add(content);
        }

        string[] merges = Merges(tokenizerPath, model);
        var rank = new Dictionary<string, int>(StringComparer.Ordinal);   // the first merge whose result is each token
        for (int r = 0; r < merges.Length; r++) rank.TryAdd(merges[r].Replace(" ", "", StringComparison.Ordinal), r);
        var tokens = new string[vocabSize];
        var scores = new float[vocabSize];
        var types = new int[vocabSize];
        int unmerged = 0;
        for (int id = 0; id < vocabSize; id++)
        {
            if (!byId.TryGetValue(id, out string? token)) { (tokens[id], scores[id], types[id]) = ($"[PAD{id}]", -1000f, UserDefined); continue; }
            tokens[id] = token;
            bool isByte = token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>' && Uri.IsHexDigit(token[3]) && Uri.IsHexDigit(token[4]);
            types[id] = id < baseSize && isByte ? Byte
                : special.Contains(token) ? Control
                : id >= baseSize && added.ContainsKey(id) ? UserDefined : Normal;
            // SentencePiece gives control, unknown and byte pieces 0; a token no merge makes ranks below every merge.
            scores[id] = types[id] is Normal && rank.TryGetValue(token, out int r) ? -r
                : types[id] is Normal ? -(merges.Length + unmerged++) : types[id] == UserDefined ? -1000f : 0f;
        }
        return (LlamaMetadata(tokens, scores, types), tokens);
    }

    private static List<KeyValuePair<string, GgufValue>> LlamaMetadata(string[] tokens, float[] scores, int[] types) =>
    [
        new("tokenizer.ggml.model", new GgufValue(GgufValueType.String, "llama")),
        new("tokenizer.ggml.pre", new GgufValue(GgufValueType.String, "default")),
        new("tokenizer.ggml.tokens", new GgufValue(GgufValueType.Array, tokens, GgufValueType.String)),
        new("tokenizer.ggml.scores", new GgufValue(GgufValueType.Array, scores, GgufValueType.Float32)),
        new("tokenizer.ggml.token_type", new GgufValue(GgufValueType.Array, types, GgufValueType.Int32)),
    ];

    /// <summary>model.vocab and added_tokens by id, with every id, duplicate and conflict checked.</summary>
    private static (Dictionary<int, string> ById, Dictionary<int, (string Content, bool Special)> Added, int MaxId) ReadIds(string tokenizerPath, JsonElement root, JsonElement model)
    {
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw Bad(tokenizerPath, "model.vocab", "is missing or not an object");
        var byId = new Dictionary<int, string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int maxId = -1;
        foreach (var entry in vocab.EnumerateObject())
        {
            int id = TokenId(tokenizerPath, entry.Name, entry.Value, "model.vocab");
            if (!seen.Add(entry.Name)) throw Bad(tokenizerPath, "model.vocab", $"token {Quote(entry.Name)} appears twice");
            if (!byId.TryAdd(id, entry.Name)) throw Bad(tokenizerPath, "model.vocab", $"id {id} is given to {Quote(byId[id])} and {Quote(entry.Name)}");
            maxId = Math.Max(maxId, id);
        }
        var added = new Dictionary<int, (string Content, bool Special)>();
        if (root.TryGetProperty("added_tokens", out var addedTokens) && addedTokens.ValueKind == JsonValueKind.Array)
        {
            foreach (var a in addedTokens.EnumerateArray())
            {
                if (a.ValueKind != JsonValueKind.Object || !a.TryGetProperty("id", out var idElement) || !idElement.TryGetInt32(out int id) || id < 0 || id >= 1 << 24
                    || !a.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
                    throw Bad(tokenizerPath, "added_tokens", $"{LlamaHyperparameters.Truncate(a.GetRawText())} needs an integer id in [0, 2^24) and a string content");
                string text = content.GetString()!;
                if (byId.TryGetValue(id, out string? existing) && existing != text)
                    throw Bad(tokenizerPath, "added_tokens", $"id {id} is {Quote(text)} here but {Quote(existing)} in model.vocab");
                byId[id] = text;
                added[id] = (text, a.TryGetProperty("special", out var sp) && sp.ValueKind == JsonValueKind.True);
                maxId = Math.Max(maxId, id);
            }
        }
        if (maxId < 0) throw Bad(tokenizerPath, "model.vocab", "is empty");
        return (byId, added, maxId);
    }

    private static int TokenId(string path, string token, JsonElement value, string key = "(root)") =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int id) && id >= 0 && id < 1 << 24 ? id
            : throw Bad(path, key, $"token {Quote(token)} has id {GgufValueText(value)}, not an integer in [0, 2^24)");

    private static string? TokenContent(JsonElement v) =>
        v.ValueKind == JsonValueKind.String ? v.GetString()
        : v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;

    /// <summary>gguf-py's <c>SpecialVocab</c>: special token ids (tokenizer_config.json's <c>bos_token</c>, … looked up
    /// among the tokens, else config.json's <c>*_token_id</c>), <c>add_bos_token</c>/<c>add_eos_token</c> and the chat template.</summary>
    private static void AddSpecialVocabulary(List<KeyValuePair<string, GgufValue>> result, string[] tokens, JsonDocument? tokenizerConfig, string configPath)
    {
        int vocabSize = tokens.Length;
        using var config = GgufHfImport.ReadJson(configPath, GgufHfImport.MaxConfigBytes);
        var idOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = vocabSize - 1; id >= 0; id--) idOf[tokens[id]] = id;
        foreach (var (special, key) in SpecialTokens)
        {
            int? id = null;
            if (tokenizerConfig?.RootElement is { ValueKind: JsonValueKind.Object } tc && tc.TryGetProperty(special + "_token", out var v)
                && TokenContent(v) is { } content && idOf.TryGetValue(content, out int found))
                id = found;
            if (id is null && config.RootElement is { ValueKind: JsonValueKind.Object } cfg && cfg.TryGetProperty(special + "_token_id", out var cid))
            {
                var first = cid.ValueKind == JsonValueKind.Array ? cid.EnumerateArray().FirstOrDefault() : cid;
                if (first.ValueKind == JsonValueKind.Number)
                {
                    if (!first.TryGetInt64(out long n) || n < 0) throw Bad(configPath, special + "_token_id", $"{first.GetRawText()} is not a token id");
                    if (n < vocabSize) id = (int)n;
                }
            }
            if (id is int value) result.Add(new(key, new GgufValue(GgufValueType.UInt32, (uint)value)));
        }
        if (tokenizerConfig?.RootElement is { ValueKind: JsonValueKind.Object } tcfg)
        {
            foreach (string flag in (string[])["add_bos_token", "add_eos_token"])
                if (tcfg.TryGetProperty(flag, out var b) && b.ValueKind is JsonValueKind.True or JsonValueKind.False)
                    result.Add(new("tokenizer.ggml." + flag, new GgufValue(GgufValueType.Bool, b.ValueKind == JsonValueKind.True)));
            if (tcfg.TryGetProperty("chat_template", out var template) && template.ValueKind == JsonValueKind.String)
                result.Add(new("tokenizer.chat_template", new GgufValue(GgufValueType.String, template.GetString()!)));
        }
    }

    private static string[] Merges(string path, JsonElement model)
    {
        if (!model.TryGetProperty("merges", out var merges) || merges.ValueKind == JsonValueKind.Null) return [];
        if (merges.ValueKind != JsonValueKind.Array) throw Bad(path, "model.merges", "is not an array");
        var result = new List<string>(merges.GetArrayLength());
        foreach (var m in merges.EnumerateArray())
        {
            if (m.ValueKind == JsonValueKind.String && m.GetString()!.Split(' ').Length == 2) result.Add(m.GetString()!);
            else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2 && m.EnumerateArray().All(p => p.ValueKind == JsonValueKind.String))
                result.Add(string.Join(' ', m.EnumerateArray().Select(p => p.GetString())));
            else throw Bad(path, "model.merges", $"entry {result.Count} {LlamaHyperparameters.Truncate(m.GetRawText())} is not \"a b\" or [\"a\", \"b\"]");
        }
        return [.. result];
    }

    private static bool HasByteLevel(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object) return false;
        if (pre.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "ByteLevel") return true;
        return pre.TryGetProperty("pretokenizers", out var steps) && steps.ValueKind == JsonValueKind.Array
            && steps.EnumerateArray().Any(s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("type", out var st) && st.ValueKind == JsonValueKind.String && st.GetString() == "ByteLevel");
    }

    // convert_hf_to_gguf.py's does_token_look_special: <|…|> and the usual angle-bracket markers.
    private static bool LooksSpecial(string token) =>
        token.StartsWith("<|", StringComparison.Ordinal) && token.EndsWith("|>", StringComparison.Ordinal)
        || token is "<pad>" or "<mask>" or "<2mass>" or "[@BOS@]";

    private static string Quote(string s) => "'" + LlamaHyperparameters.Truncate(s) + "'";

    private static string GgufValueText(JsonElement e) => LlamaHyperparameters.Truncate(e.GetRawText());

    private static InvalidCheckpointException Bad(string path, string key, string detail) => new(path, null, $"key '{key}': {detail}");
}
