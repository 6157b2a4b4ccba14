namespace WeightSpace.Formats.Gguf;

/// <summary>The <c>tokenizer.ggml.*</c> metadata of a byte-level BPE tokenizer.json, as convert_hf_to_gguf.py's
/// <c>_set_vocab_gpt2</c> (<c>get_vocab_base</c>) and gguf-py's <c>SpecialVocab</c> write it.</summary>
/// <remarks>
/// Tokens in id order; an id the vocabulary lacks becomes <c>[PADn]</c> (USER_DEFINED); added tokens are CONTROL when
/// special, else USER_DEFINED; the rest NORMAL. Merges as "a b" strings (an empty array when there are none:
/// llama.cpp refuses a gpt2 vocabulary without the key). Special token ids from tokenizer_config.json
/// (<c>bos_token</c>, … as strings or <c>{"content": …}</c>) looked up among the tokens, else config.json's
/// <c>*_token_id</c>; <c>add_bos_token</c>/<c>add_eos_token</c> and <c>chat_template</c> from tokenizer_config.json.
/// The pre-tokenizer is written as <c>default</c>: convert_hf_to_gguf.py names it by hashing transformers' output on
/// its test text, which needs transformers; <c>default</c> is llama.cpp's GPT-2 split.
/// SentencePiece tokenizers (<c>byte_fallback</c> BPE, Unigram, a tokenizer.model) are refused by name.
/// </remarks>
internal static class GgufTokenizerImport
{
    private const int Normal = 1, UserDefined = 4, Control = 3;

    private static readonly (string Name, string Key)[] SpecialTokens =
    [
        ("bos", "tokenizer.ggml.bos_token_id"), ("eos", "tokenizer.ggml.eos_token_id"), ("unk", "tokenizer.ggml.unknown_token_id"),
        ("sep", "tokenizer.ggml.seperator_token_id"), ("pad", "tokenizer.ggml.padding_token_id"), ("cls", "tokenizer.ggml.cls_token_id"),
        ("mask", "tokenizer.ggml.mask_token_id"),
    ];

    /// <summary>The metadata, and the vocabulary size (config.json's <c>vocab_size</c>, else the largest id + 1).</summary>
    public static (List<KeyValuePair<string, GgufValue>> Metadata, int VocabSize) Read(string tokenizerPath, string? tokenizerConfigPath, string configPath, int? configVocabSize)
    {
        using var doc = GgufHfImport.ReadJson(tokenizerPath, GgufHfImport.MaxTokenizerBytes);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw Bad(tokenizerPath, "model", "is missing or not an object");
        string? type = model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        if (type != "BPE")
            throw new UnsupportedFormatException(tokenizerPath, $"tokenizer model '{type ?? "(absent)"}' is not written as GGUF by WeightSpace (byte-level BPE, tokenizer.ggml.model gpt2, is)");
        if (model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True)
            throw new UnsupportedFormatException(tokenizerPath, "a SentencePiece-style BPE (byte_fallback: true) becomes GGUF tokenizer model 'llama' with SentencePiece scores, which WeightSpace does not write (byte-level BPE, gpt2, is)");
        if (!HasByteLevel(root))
            throw new UnsupportedFormatException(tokenizerPath, "pre_tokenizer has no ByteLevel step; only byte-level BPE (GGUF tokenizer model gpt2) is written");
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw Bad(tokenizerPath, "model.vocab", "is missing or not an object");

        var byId = new Dictionary<int, string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int maxId = -1;
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0 || id >= 1 << 24)
                throw Bad(tokenizerPath, "model.vocab", $"token {Quote(entry.Name)} has id {GgufValueText(entry.Value)}, not an integer in [0, 2^24)");
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

        var result = new List<KeyValuePair<string, GgufValue>>
        {
            new("tokenizer.ggml.model", new GgufValue(GgufValueType.String, "gpt2")),
            new("tokenizer.ggml.pre", new GgufValue(GgufValueType.String, "default")),
            new("tokenizer.ggml.tokens", new GgufValue(GgufValueType.Array, tokens, GgufValueType.String)),
            new("tokenizer.ggml.token_type", new GgufValue(GgufValueType.Array, types, GgufValueType.Int32)),
            new("tokenizer.ggml.merges", new GgufValue(GgufValueType.Array, Merges(tokenizerPath, model), GgufValueType.String)),
        };

        using var tokenizerConfig = tokenizerConfigPath is null ? null : GgufHfImport.ReadJson(tokenizerConfigPath, GgufHfImport.MaxConfigBytes);
        using var config = GgufHfImport.ReadJson(configPath, GgufHfImport.MaxConfigBytes);
        var idOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = vocabSize - 1; id >= 0; id--) idOf[tokens[id]] = id;
        foreach (var (special, key) in SpecialTokens)
        {
            int? id = null;
            if (tokenizerConfig?.RootElement is { ValueKind: JsonValueKind.Object } tc && tc.TryGetProperty(special + "_token", out var v))
            {
                string? content = v.ValueKind == JsonValueKind.String ? v.GetString()
                    : v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                if (content is not null && idOf.TryGetValue(content, out int found)) id = found;
            }
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
        return (result, vocabSize);
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
