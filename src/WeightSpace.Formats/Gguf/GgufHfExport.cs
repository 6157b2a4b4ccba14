using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Formats.Gguf;

/// <summary>What <see cref="GgufHfExport.Write"/> wrote.</summary>
/// <param name="Directory">The output folder.</param>
/// <param name="Files">File names written in it.</param>
/// <param name="Skipped">Files not written and why (e.g. a tokenizer type that is not synthesised).</param>
public sealed record GgufHfExportResult(string Directory, IReadOnlyList<string> Files, IReadOnlyList<string> Skipped);

/// <summary>Writes a llama-family GGUF as a Hugging Face model folder: <c>model.safetensors</c> (HF names, q/k
/// un-permuted, quantised tensors dequantised), <c>config.json</c> from the <c>llama.*</c> metadata and
/// <c>tokenizer.json</c> from the <c>tokenizer.ggml.*</c> metadata (byte-level BPE for <c>tokenizer.ggml.model = gpt2</c>,
/// SentencePiece-style BPE for <c>llama</c>).</summary>
public static class GgufHfExport
{
    /// <summary>Writes the folder. Each file goes through a temp file and a rename, so none is ever half-written.</summary>
    /// <param name="store">A store opened with Hugging Face naming (<see cref="GgufStore.UsesHuggingFaceNames"/>).</param>
    /// <param name="directory">The output folder (created if needed).</param>
    /// <param name="floatDType">Output dtype of floating-point tensors (F32, F16, BF16, F64); quantised tensors become F32 when null.</param>
    /// <param name="shardSizeBytes">Write shards of at most this size plus an index instead of one file.</param>
    /// <param name="bytesWritten">Progress in tensor bytes written.</param>
    /// <exception cref="InvalidGgufException">The architecture is not one WeightSpace maps, or a needed key is missing or malformed.</exception>
    public static GgufHfExportResult Write(GgufStore store, string directory, DType? floatDType = null, long? shardSizeBytes = null, IProgress<long>? bytesWritten = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!store.UsesHuggingFaceNames)
            throw new InvalidGgufException(store.Path, null, "general.architecture",
                $"architecture '{store.Architecture ?? "(none)"}' has no Hugging Face mapping in WeightSpace (llama has); convert to a .safetensors file instead to keep the GGUF names");
        string config = ConfigJson(store);       // validate the metadata before writing anything
        string? tokenizer = TokenizerJson(store, out string? skipped);
        Directory.CreateDirectory(directory);

        var files = new List<string>();
        var options = new SafetensorsWriteOptions { ShardSizeBytes = shardSizeBytes, Metadata = new Dictionary<string, string> { ["format"] = "pt" } };
        string weights = shardSizeBytes is null ? Path.Combine(directory, "model.safetensors") : directory;
        SafetensorsWriter.Copy(store, weights, options, floatDType, bytesWritten);
        files.Add(shardSizeBytes is null ? "model.safetensors" : SafetensorsReader.IndexFileName);
        WriteText(Path.Combine(directory, "config.json"), config);
        files.Add("config.json");
        if (tokenizer is not null)
        {
            WriteText(Path.Combine(directory, "tokenizer.json"), tokenizer);
            files.Add("tokenizer.json");
        }
        return new GgufHfExportResult(directory, files, skipped is null ? [] : [skipped]);
    }

    /// <summary>The config.json that <see cref="Write"/> writes for <paramref name="store"/>.</summary>
    /// <exception cref="InvalidGgufException">A needed key is missing or malformed.</exception>
    public static string ConfigJsonOf(GgufStore store) => ConfigJson(store);

    /// <summary>The tokenizer.json that <see cref="Write"/> writes, or null (reason in <paramref name="skipped"/>) for a
    /// tokenizer model other than gpt2 and llama.</summary>
    /// <exception cref="InvalidGgufException">The token list is missing or malformed.</exception>
    public static string? TokenizerJsonOf(GgufStore store, out string? skipped) => TokenizerJson(store, out skipped);

    /// <summary>transformers' <c>LlamaConfig</c> as JSON, from the GGUF metadata.</summary>
    internal static string ConfigJson(GgufStore store)
    {
        string a = store.Architecture!;
        long Int(string key) => store.Find(key) is { } v && v.TryGetInt64(out long n) ? n
            : throw new InvalidGgufException(store.Path, null, key, store.Find(key) is null ? "is missing; config.json needs it" : "is not an integer");
        long? OptionalInt(string key) => store.Find(key) is { } v && v.TryGetInt64(out long n) ? n : null;
        double? Float(string key) => store.Find(key) switch
        {
            // float32 metadata (1e-5 stored as 9.99999974e-06) is written as its shortest float32 text, the value HF had.
            { Value: float f } => double.Parse(f.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture),
            { Value: double d } => d,
            _ => null,
        };

        long heads = Int($"{a}.attention.head_count");
        long vocab = OptionalInt($"{a}.vocab_size") ?? (store.Find("tokenizer.ggml.tokens")?.Count
            ?? throw new InvalidGgufException(store.Path, null, $"{a}.vocab_size", "is missing and there is no tokenizer.ggml.tokens to count"));
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("architectures");
            w.WriteStringValue("LlamaForCausalLM");
            w.WriteEndArray();
            w.WriteString("model_type", "llama");
            w.WriteString("hidden_act", "silu");
            w.WriteNumber("hidden_size", Int($"{a}.embedding_length"));
            w.WriteNumber("intermediate_size", Int($"{a}.feed_forward_length"));
            w.WriteNumber("num_hidden_layers", Int($"{a}.block_count"));
            w.WriteNumber("num_attention_heads", heads);
            w.WriteNumber("num_key_value_heads", OptionalInt($"{a}.attention.head_count_kv") ?? heads);
            if (OptionalInt($"{a}.attention.key_length") is { } headDim) w.WriteNumber("head_dim", headDim);
            if (OptionalInt($"{a}.context_length") is { } context) w.WriteNumber("max_position_embeddings", context);
            w.WriteNumber("rms_norm_eps", Float($"{a}.attention.layer_norm_rms_epsilon") ?? 1e-6);
            w.WriteNumber("rope_theta", Float($"{a}.rope.freq_base") ?? 10000.0);
            w.WriteNumber("vocab_size", vocab);
            w.WriteBoolean("tie_word_embeddings", !store.Contains("lm_head.weight"));
            foreach (var (key, name) in new[] { ("bos_token_id", "tokenizer.ggml.bos_token_id"), ("eos_token_id", "tokenizer.ggml.eos_token_id"), ("pad_token_id", "tokenizer.ggml.padding_token_id") })
                if (OptionalInt(name) is { } id) w.WriteNumber(key, id);
            w.WriteString("torch_dtype", "float32");
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>A Hugging Face <c>tokenizer.json</c> from the <c>tokenizer.ggml.*</c> metadata: byte-level BPE for
    /// <c>gpt2</c> (the token list as the vocabulary, <c>tokenizer.ggml.merges</c> as the merges), SentencePiece-style
    /// BPE for <c>llama</c> (as transformers' <c>GGUFLlamaConverter</c> builds it, see <see cref="SentencePieceMerges"/>);
    /// control tokens (type 3) as added special tokens. Null (with the reason in <paramref name="skipped"/>) for other
    /// tokenizer models.</summary>
    internal static string? TokenizerJson(GgufStore store, out string? skipped)
    {
        skipped = null;
        string? model = store.Find("tokenizer.ggml.model")?.Value as string;
        if (model is not ("gpt2" or "llama"))
        {
            skipped = $"tokenizer.json: tokenizer.ggml.model '{model ?? "(absent)"}' is not synthesised (gpt2 byte-level BPE and llama SentencePiece are)";
            return null;
        }
        if (store.Find("tokenizer.ggml.tokens")?.Value is not string[] tokens)
            throw new InvalidGgufException(store.Path, null, "tokenizer.ggml.tokens", "is missing or not an array of strings");
        int[]? types = store.Find("tokenizer.ggml.token_type")?.Value as int[];
        var ids = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        for (int id = 0; id < tokens.Length; id++)
            if (!ids.TryAdd(tokens[id], id))
                throw new InvalidGgufException(store.Path, null, "tokenizer.ggml.tokens", $"token {id} '{LlamaHyperparameters.Truncate(tokens[id])}' appears twice; a BPE vocabulary needs unique tokens");

        bool sentencePiece = model == "llama";
        string[] merges;
        if (store.Find("tokenizer.ggml.merges")?.Value is string[] stored) merges = stored;
        else if (!sentencePiece) merges = [];
        else if (store.Find("tokenizer.ggml.scores")?.Value is float[] scores && scores.Length == tokens.Length) merges = SentencePieceMerges(tokens, scores, ids, store.Path);
        else throw new InvalidGgufException(store.Path, null, "tokenizer.ggml.scores", $"is missing or not {tokens.Length} float32 values; a llama tokenizer without merges needs the scores to rank them");
        string? unknown = sentencePiece && store.Find("tokenizer.ggml.unknown_token_id") is { } u && u.TryGetInt64(out long unk) && unk >= 0 && unk < tokens.Length ? tokens[unk] : null;
        // llama.cpp's default for a llama vocabulary is a space prefix; transformers reads the key as add_prefix_space.
        bool prefixSpace = store.Find("tokenizer.ggml.add_space_prefix")?.Value is not false;
        bool byteFallback = sentencePiece && Enumerable.Range(0, 256).All(b => ids.ContainsKey($"<0x{b:X2}>"));

        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            for (int id = 0; id < tokens.Length; id++)
            {
                if (types is null || id >= types.Length || types[id] != 3) continue;   // 3 = CONTROL
                w.WriteStartObject();
                w.WriteNumber("id", id);
                w.WriteString("content", tokens[id]);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("lstrip", false);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("normalized", false);
                w.WriteBoolean("special", true);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (sentencePiece)
            {
                // LlamaConverter (legacy): normalizer Prepend ▁ + Replace " " → ▁, no pre-tokenizer, decoder back to text.
                w.WriteStartObject("normalizer");
                w.WriteString("type", "Sequence");
                w.WriteStartArray("normalizers");
                if (prefixSpace) WriteObject(w, ("type", "Prepend"), ("prepend", "\u2581"));
                WriteReplace(w, " ", "\u2581");
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteNull("pre_tokenizer");
                w.WriteNull("post_processor");
                w.WriteStartObject("decoder");
                w.WriteString("type", "Sequence");
                w.WriteStartArray("decoders");
                WriteObject(w, ("type", "ByteFallback"));
                WriteObject(w, ("type", "Fuse"));
                WriteReplace(w, "\u2581", " ");
                if (prefixSpace)
                {
                    w.WriteStartObject();
                    w.WriteString("type", "Strip");
                    w.WriteString("content", " ");
                    w.WriteNumber("start", 1);
                    w.WriteNumber("stop", 0);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("normalizer");
                ByteLevel(w, "pre_tokenizer", addPrefixSpace: false, trimOffsets: true);
                ByteLevel(w, "post_processor", addPrefixSpace: true, trimOffsets: false);
                ByteLevel(w, "decoder", addPrefixSpace: true, trimOffsets: true);
            }
            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteNull("dropout");
            if (unknown is null) w.WriteNull("unk_token");
            else w.WriteString("unk_token", unknown);
            w.WriteNull("continuing_subword_prefix");
            w.WriteNull("end_of_word_suffix");
            w.WriteBoolean("fuse_unk", sentencePiece);
            w.WriteBoolean("byte_fallback", byteFallback);
            w.WriteBoolean("ignore_merges", false);
            w.WriteStartObject("vocab");
            for (int id = 0; id < tokens.Length; id++) w.WriteNumber(tokens[id], id);
            w.WriteEndObject();
            w.WriteStartArray("merges");
            foreach (string merge in merges) w.WriteStringValue(merge);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>The BPE merges of a SentencePiece vocabulary, as transformers' <c>GGUFTokenizerSkeleton</c> (and its
    /// <c>SentencePieceExtractor</c>) derive them: for each token, every split into two tokens of the vocabulary,
    /// ordered by the two halves' scores (highest first); all of them then ordered by the whole token's score, highest
    /// first, ties kept in vocabulary order. Splits are by Unicode code point, as Python slices strings.</summary>
    internal static string[] SentencePieceMerges(string[] tokens, float[] scores, Dictionary<string, int> ids, string? path = null)
    {
        var merges = new List<(string Left, string Right, float Score)>();
        var local = new List<(string Left, string Right, float LeftScore, float RightScore)>();
        var lookup = ids.GetAlternateLookup<ReadOnlySpan<char>>();
        long work = 0;
        for (int id = 0; id < tokens.Length; id++)
        {
            string token = tokens[id];
            if (ids[token] != id) continue;   // unique tokens: the dictionary keeps each token once
            // Every cut hashes the whole token: a hostile file's megabyte-long token would cost 10^12 steps.
            work += (long)token.Length * token.Length;
            if (work > MaxMergeDerivationWork)
                throw new InvalidGgufException(path ?? "(tokens)", null, "tokenizer.ggml.tokens", $"token {id} ({token.Length} characters) takes the merge derivation past {MaxMergeDerivationWork} steps; real vocabularies need a few million");
            local.Clear();
            for (int cut = 1; cut < token.Length; cut++)
            {
                if (char.IsLowSurrogate(token[cut]) && char.IsHighSurrogate(token[cut - 1])) continue;   // cut by code point
                var left = token.AsSpan(0, cut);
                var right = token.AsSpan(cut);
                // A piece with a space is a pre-normalised user-defined token; "a b" merges cannot hold it.
                if (left.Contains(' ') || right.Contains(' ')) continue;
                if (lookup.TryGetValue(left, out int l) && lookup.TryGetValue(right, out int r)) local.Add((left.ToString(), right.ToString(), scores[l], scores[r]));
            }
            foreach (var m in local.OrderByDescending(m => m.LeftScore).ThenByDescending(m => m.RightScore)) merges.Add((m.Left, m.Right, scores[id]));
        }
        return [.. merges.OrderByDescending(m => m.Score).Select(m => m.Left + " " + m.Right)];
    }

    /// <summary>Bound on the characters hashed while deriving SentencePiece merges (the sum of squared token lengths).</summary>
    internal const long MaxMergeDerivationWork = 1L << 31;

    private static void WriteObject(Utf8JsonWriter w, params (string Key, string Value)[] properties)
    {
        w.WriteStartObject();
        foreach (var (key, value) in properties) w.WriteString(key, value);
        w.WriteEndObject();
    }

    private static void WriteReplace(Utf8JsonWriter w, string from, string to)
    {
        w.WriteStartObject();
        w.WriteString("type", "Replace");
        w.WriteStartObject("pattern");
        w.WriteString("String", from);
        w.WriteEndObject();
        w.WriteString("content", to);
        w.WriteEndObject();
    }

    private static void ByteLevel(Utf8JsonWriter w, string name, bool addPrefixSpace, bool trimOffsets)
    {
        w.WriteStartObject(name);
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", addPrefixSpace);
        w.WriteBoolean("trim_offsets", trimOffsets);
        w.WriteBoolean("use_regex", true);
        w.WriteEndObject();
    }

    private static void WriteText(string path, string text) => AtomicFile.WriteAllText(path, text);
}
