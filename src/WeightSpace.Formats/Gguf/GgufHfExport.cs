using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Formats.Gguf;

/// <summary>What <see cref="GgufHfExport.Write"/> wrote.</summary>
/// <param name="Directory">The output folder.</param>
/// <param name="Files">File names written in it.</param>
/// <param name="Skipped">Files not written and why (e.g. a tokenizer type that is not synthesised).</param>
public sealed record GgufHfExportResult(string Directory, IReadOnlyList<string> Files, IReadOnlyList<string> Skipped);

/// <summary>Writes a llama-family GGUF as a Hugging Face model folder: <c>model.safetensors</c> (HF names, q/k
/// un-permuted, quantised tensors dequantised), <c>config.json</c> from the <c>llama.*</c> metadata and
/// <c>tokenizer.json</c> from the <c>tokenizer.ggml.*</c> metadata (byte-level BPE, <c>tokenizer.ggml.model = gpt2</c>).</summary>
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
    /// tokenizer model other than gpt2.</summary>
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

    /// <summary>A Hugging Face <c>tokenizer.json</c> for a byte-level BPE (<c>tokenizer.ggml.model = gpt2</c>): the
    /// token list as the vocabulary, <c>tokenizer.ggml.merges</c> as the merges, control tokens (type 3) as added
    /// special tokens. Null (with the reason in <paramref name="skipped"/>) for other tokenizer models.</summary>
    internal static string? TokenizerJson(GgufStore store, out string? skipped)
    {
        skipped = null;
        string? model = store.Find("tokenizer.ggml.model")?.Value as string;
        if (model != "gpt2")
        {
            skipped = $"tokenizer.json: tokenizer.ggml.model '{model ?? "(absent)"}' is not synthesised (gpt2 byte-level BPE is)";
            return null;
        }
        if (store.Find("tokenizer.ggml.tokens")?.Value is not string[] tokens)
            throw new InvalidGgufException(store.Path, null, "tokenizer.ggml.tokens", "is missing or not an array of strings");
        string[] merges = store.Find("tokenizer.ggml.merges")?.Value as string[] ?? [];
        int[]? types = store.Find("tokenizer.ggml.token_type")?.Value as int[];

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
            w.WriteNull("normalizer");
            ByteLevel(w, "pre_tokenizer", addPrefixSpace: false, trimOffsets: true);
            ByteLevel(w, "post_processor", addPrefixSpace: true, trimOffsets: false);
            ByteLevel(w, "decoder", addPrefixSpace: true, trimOffsets: true);
            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteNull("dropout");
            w.WriteNull("unk_token");
            w.WriteNull("continuing_subword_prefix");
            w.WriteNull("end_of_word_suffix");
            w.WriteBoolean("fuse_unk", false);
            w.WriteBoolean("byte_fallback", false);
            w.WriteBoolean("ignore_merges", false);
            w.WriteStartObject("vocab");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int id = 0; id < tokens.Length; id++)
            {
                if (!seen.Add(tokens[id]))
                    throw new InvalidGgufException(store.Path, null, "tokenizer.ggml.tokens", $"token {id} '{tokens[id]}' appears twice; a BPE vocabulary needs unique tokens");
                w.WriteNumber(tokens[id], id);
            }
            w.WriteEndObject();
            w.WriteStartArray("merges");
            foreach (string merge in merges) w.WriteStringValue(merge);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
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
