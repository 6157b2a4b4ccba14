using WeightSpace.Formats.Gguf;
using WeightSpace.Formats.Integrity;

namespace WeightSpace.Analysis.Preflight;

/// <summary>A model's shape as its <c>config.json</c> states it and as its tensors show it (null where unknown).</summary>
/// <param name="Stated">From config.json (or null without one).</param>
/// <param name="Found">From the tensor names and shapes.</param>
public sealed record StatedAndFound<T>(T? Stated, T? Found) where T : struct;

/// <summary>What <see cref="ModelPreflight.Check"/> learnt about one model from its headers and config files.</summary>
/// <param name="Reference">The reference as given (path, hub id, <c>MODEL+ADAPTER</c>).</param>
/// <param name="Folder">The folder holding its config.json and tokenizer files; null for a GGUF file, whose config and
/// tokenizer are its metadata.</param>
/// <param name="Format">The checkpoint format.</param>
/// <param name="Architecture">config.json's <c>architectures[0]</c>, else null.</param>
/// <param name="ModelType">config.json's <c>model_type</c>, else null.</param>
/// <param name="Tensors">Number of tensors.</param>
/// <param name="Parameters">Number of elements over all tensors.</param>
/// <param name="Bytes">Stored bytes of all tensors.</param>
/// <param name="DTypes">Tensor count per stored dtype, in dtype order.</param>
/// <param name="StatedDType">config.json's <c>torch_dtype</c> (or <c>dtype</c>).</param>
/// <param name="Layers">num_hidden_layers against the number of blocks the names show.</param>
/// <param name="HiddenSize">hidden_size against the embedding's width.</param>
/// <param name="IntermediateSize">intermediate_size against the MLP gate/up rows.</param>
/// <param name="Vocabulary">vocab_size against the embedding's rows.</param>
/// <param name="TokenizerVocabulary">Tokens the tokenizer.json defines (ids 0..n−1 incl. added tokens), or null.</param>
/// <param name="TiedEmbeddings">tie_word_embeddings against "the checkpoint has no separate lm_head".</param>
/// <param name="AttentionHeads">num_attention_heads and num_key_value_heads as stated.</param>
/// <param name="Findings">Problems, errors first.</param>
public sealed record ModelCheck(
    string Reference, string? Folder, string Format, string? Architecture, string? ModelType,
    int Tensors, long Parameters, long Bytes, IReadOnlyList<KeyValuePair<DType, int>> DTypes, string? StatedDType,
    StatedAndFound<int> Layers, StatedAndFound<long> HiddenSize, StatedAndFound<long> IntermediateSize, StatedAndFound<long> Vocabulary,
    int? TokenizerVocabulary, StatedAndFound<bool> TiedEmbeddings, (int? Heads, int? KeyValueHeads) AttentionHeads,
    IReadOnlyList<PreflightFinding> Findings)
{
    /// <summary>True when no finding is an error.</summary>
    public bool Ok => Findings.All(f => f.Severity != FindingSeverity.Error);
}

/// <summary>One problem found by a preflight.</summary>
/// <param name="Severity">Error: loading or merging fails or goes wrong; warning: probably not what was meant.</param>
/// <param name="Subject">The model reference, file or tensor it is about.</param>
/// <param name="Message">One line.</param>
public sealed record PreflightFinding(FindingSeverity Severity, string Subject, string Message)
{
    /// <inheritdoc/>
    public override string ToString() => $"{(Severity == FindingSeverity.Error ? "error" : "warning")}: {Subject}: {Message}";
}

/// <summary>Preflight of models from headers and config files only, before any tensor data is read: what
/// <c>weightspace check</c> prints. Each model's config.json is compared with its tensors (layer count, hidden and
/// intermediate size, vocabulary, head counts, tied embeddings, dtype), its tokenizer with its embedding, and a set of
/// models with each other (architecture, tensor names and shapes, vocabularies), as a merge would need them.</summary>
public static class ModelPreflight
{
    /// <summary>Checks one opened model.</summary>
    /// <param name="reference">The reference as given, for messages.</param>
    /// <param name="store">The opened checkpoint (headers only are used).</param>
    /// <param name="folder">Its folder with config.json/tokenizer.json, or null.</param>
    public static ModelCheck Check(string reference, TensorStore store, string? folder)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(store);
        var findings = new List<PreflightFinding>();
        JsonObject? config = ReadJson(folder, "config.json", reference, findings);
        // A GGUF file carries its hyperparameters: the config.json convert would write from them.
        if (config is null && store is GgufStore gguf) config = JsonNode.Parse(GgufHfExport.ConfigJsonOf(gguf)) as JsonObject;
        var text = config?["text_config"] as JsonObject;   // multimodal wrappers keep the language model's sizes here
        int? IntKey(params string[] keys) => LongKey(config, text, keys) is { } v ? (int)Math.Clamp(v, int.MinValue, int.MaxValue) : null;

        var names = store.Tensors.Select(t => (Info: t, Name: TensorNames.Parse(t.Name))).ToList();
        int? blocks = names.Any(n => n.Name.Layer is not null) ? names.Where(n => n.Name.Layer is not null).Select(n => n.Name.Layer!.Value).Distinct().Count() : null;
        var embed = names.FirstOrDefault(n => n.Name.Role == TensorRole.TokenEmbedding && n.Info.Shape.Rank == 2).Info;
        bool hasHead = names.Any(n => n.Name.Role == TensorRole.LmHead);
        long? mlpRows = names.Where(n => n.Name.Role is TensorRole.Gate or TensorRole.Up && n.Info.Shape.Rank == 2).Select(n => (long?)n.Info.Shape[0]).FirstOrDefault();

        var layers = new StatedAndFound<int>(IntKey("num_hidden_layers", "n_layer", "num_layers", "n_layers"), blocks);
        var hidden = new StatedAndFound<long>(LongKey(config, text, "hidden_size", "n_embd", "d_model"), embed?.Shape[1]);
        var intermediate = new StatedAndFound<long>(LongKey(config, text, "intermediate_size", "n_inner", "ffn_dim"), mlpRows);
        var vocab = new StatedAndFound<long>(LongKey(config, text, "vocab_size"), embed?.Shape[0]);
        bool? statedTie = BoolKey(config, text, "tie_word_embeddings");
        var tied = new StatedAndFound<bool>(statedTie, embed is null ? null : !hasHead);
        int? heads = IntKey("num_attention_heads", "n_head", "num_heads"), kvHeads = IntKey("num_key_value_heads", "num_kv_heads") ?? heads;
        string? statedDType = StringKey(config, text, "torch_dtype") ?? StringKey(config, text, "dtype");
        int? tokenizerSize = TokenizerSize(folder, reference, findings);

        void Error(string message) => findings.Add(new(FindingSeverity.Error, reference, message));
        void Warn(string message) => findings.Add(new(FindingSeverity.Warning, reference, message));
        if (config is not null)
        {
            if (layers is { Stated: { } sl, Found: { } fl } && sl != fl)
                Error($"config.json says num_hidden_layers = {sl} but the tensors hold {fl} blocks (transformers would {(fl > sl ? "ignore" : "randomly initialise")} {Math.Abs(fl - sl)})");
            if (hidden is { Stated: { } sh, Found: { } fh } && sh != fh)
                Error($"config.json says hidden_size = {sh} but the token embedding is {fh} wide");
            if (intermediate is { Stated: { } si, Found: { } fi } && si != fi)
                Error($"config.json says intermediate_size = {si} but the MLP projections have {fi} rows");
            if (vocab is { Stated: { } sv, Found: { } fv } && sv != fv)
                Error($"config.json says vocab_size = {sv} but the token embedding has {fv} rows");
            CheckHeads(names, heads, kvHeads, LongKey(config, text, "head_dim"), hidden.Stated ?? hidden.Found, Error);
            bool tieDefault = statedTie ?? DefaultTie(StringKey(config, text, "model_type"));
            if (embed is not null && !hasHead && !tieDefault)
                Error("the checkpoint has no lm_head but config.json does not tie the embeddings (tie_word_embeddings false): transformers would initialise the head randomly");
            if (embed is not null && hasHead && statedTie == true)
                Warn("config.json ties the embeddings but the checkpoint also stores an lm_head (transformers ignores it)");
            // A GGUF states no torch_dtype: the float32 of its synthesised config.json is what a conversion would hold.
            if (statedDType is not null && ParseTorchDType(statedDType) is { } sd && store is not GgufStore)
            {
                var floats = store.Tensors.Where(t => t.DType.IsFloatingPoint() && t.Shape.Rank >= 2).Select(t => t.DType).Distinct().ToList();
                if (floats.Count > 0 && !floats.Contains(sd))
                    Warn($"config.json's torch_dtype is {statedDType} but the weights are stored as {string.Join(", ", floats.Select(d => d.ToShortName()))}");
            }
        }
        if (tokenizerSize is { } ts && embed is not null && ts > embed.Shape[0])
            Error($"tokenizer.json defines {ts} tokens but the token embedding has only {embed.Shape[0]} rows (ids ≥ {embed.Shape[0]} have no embedding)");
        if (blocks is null && store.Tensors.Count > 0)
            Warn("no transformer block found in the tensor names (not a naming WeightSpace knows): layer checks skipped");

        var dtypes = store.Tensors.GroupBy(t => t.DType).OrderBy(g => g.Key).Select(g => new KeyValuePair<DType, int>(g.Key, g.Count())).ToList();
        return new ModelCheck(reference, store is GgufStore ? null : folder, store.Format.Name, StringAt(config?["architectures"] as JsonArray), StringKey(config, text, "model_type"),
            store.Tensors.Count, store.ParameterCount, store.ByteCount, dtypes, statedDType, layers, hidden, intermediate, vocab, tokenizerSize, tied,
            (heads, kvHeads), [.. findings.OrderByDescending(f => f.Severity)]);
    }

    /// <summary>Compares models that are to be used together (merged, diffed): architectures, tensors and shapes, vocabularies.</summary>
    /// <param name="checks">The models' checks, first model first (the base when there is one).</param>
    /// <param name="stores">The same models' stores, in the same order.</param>
    public static IReadOnlyList<PreflightFinding> CompareSet(IReadOnlyList<ModelCheck> checks, IReadOnlyList<TensorStore> stores)
    {
        ArgumentNullException.ThrowIfNull(checks);
        ArgumentNullException.ThrowIfNull(stores);
        if (checks.Count != stores.Count) throw new ArgumentException("one store per check is needed", nameof(stores));
        var findings = new List<PreflightFinding>();
        if (checks.Count < 2) return findings;
        var first = checks[0];
        for (int i = 1; i < checks.Count; i++)
        {
            var other = checks[i];
            if (first.Architecture is not null && other.Architecture is not null && first.Architecture != other.Architecture)
                findings.Add(new(FindingSeverity.Error, other.Reference, $"architecture {other.Architecture} differs from {first.Reference}'s {first.Architecture} (merge refuses this without --allow-crimes)"));
            if (first.Vocabulary.Found is { } a && other.Vocabulary.Found is { } b && a != b)
                findings.Add(new(FindingSeverity.Warning, other.Reference, $"embedding has {b} rows, {first.Reference}'s {a}: a merge needs tokenizer_source (base, union or a model) to map rows by token"));
        }
        var mismatches = ModelCompatibility.Check(stores[0], stores.Skip(1).ToList());
        foreach (var m in mismatches)
            findings.Add(new(FindingSeverity.Error, m.Model, $"tensor '{m.Tensor}': {m.Detail}"));
        return findings;
    }

    private static void CheckHeads(List<(TensorInfo Info, TensorName Name)> names, int? heads, int? kvHeads, long? headDim, long? hidden, Action<string> error)
    {
        if (heads is not { } h || h <= 0 || hidden is not { } d) return;
        long dh = headDim ?? (d % h == 0 ? d / h : 0);
        if (dh <= 0) { error($"hidden_size {d} is not divisible by num_attention_heads {h} and config.json gives no head_dim"); return; }
        var q = names.FirstOrDefault(n => n.Name.Role == TensorRole.Query && n.Info.Shape.Rank == 2).Info;
        var k = names.FirstOrDefault(n => n.Name.Role == TensorRole.Key && n.Info.Shape.Rank == 2).Info;
        if (q is not null && q.Shape[0] != h * dh)
            error($"{q.Name} has {q.Shape[0]} rows but num_attention_heads × head_dim = {h} × {dh} = {h * dh}");
        if (k is not null && kvHeads is { } kv && k.Shape[0] != kv * dh)
            error($"{k.Name} has {k.Shape[0]} rows but num_key_value_heads × head_dim = {kv} × {dh} = {kv * dh}");
    }

    // transformers' PretrainedConfig defaults tie_word_embeddings to True; Llama-family configs override it to False.
    private static bool DefaultTie(string? modelType) => modelType is not ("llama" or "mistral" or "mixtral" or "qwen2" or "phi3");

    private static DType? ParseTorchDType(string name) => name.Replace("torch.", "", StringComparison.Ordinal) switch
    {
        "float32" or "float" => DType.F32,
        "float16" or "half" => DType.F16,
        "bfloat16" => DType.BF16,
        "float64" or "double" => DType.F64,
        _ => null,
    };

    private static JsonObject? ReadJson(string? folder, string file, string reference, List<PreflightFinding> findings)
    {
        if (folder is null) return null;
        string path = Path.Combine(folder, file);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonNode.Parse(File.ReadAllBytes(path), documentOptions: new JsonDocumentOptions { MaxDepth = 64 }) as JsonObject
                ?? throw new JsonException("not a JSON object");
        }
        catch (JsonException e)
        {
            findings.Add(new(FindingSeverity.Error, path, $"is not valid JSON ({e.Message})"));
            return null;
        }
        catch (IOException e)
        {
            findings.Add(new(FindingSeverity.Error, path, $"cannot be read ({e.Message}) [{reference}]"));
            return null;
        }
    }

    // The ids a tokenizer.json defines: its model's vocab (a map for BPE/WordPiece, a list for Unigram) and added tokens.
    private static int? TokenizerSize(string? folder, string reference, List<PreflightFinding> findings)
    {
        var tokenizer = ReadJson(folder, "tokenizer.json", reference, findings);
        if (tokenizer is null) return null;
        long next = 0;
        switch (tokenizer["model"]?["vocab"])
        {
            case JsonObject map:
                foreach (var (_, id) in map)
                    if (id is JsonValue v && v.TryGetValue(out long n)) next = Math.Max(next, n + 1);
                break;
            case JsonArray list:
                next = list.Count;
                break;
        }
        if (tokenizer["added_tokens"] is JsonArray added)
            foreach (var t in added)
                if (t?["id"] is JsonValue v && v.TryGetValue(out long n)) next = Math.Max(next, n + 1);
        return next > 0 ? (int)Math.Min(next, int.MaxValue) : null;
    }

    private static long? LongKey(JsonObject? config, JsonObject? text, params string[] keys)
    {
        foreach (var source in new[] { config, text })
            foreach (string key in keys)
                if (source?[key] is JsonValue v && v.TryGetValue(out long n)) return n;
        return null;
    }

    private static bool? BoolKey(JsonObject? config, JsonObject? text, string key) =>
        config?[key] is JsonValue v && v.TryGetValue(out bool b) ? b : text?[key] is JsonValue t && t.TryGetValue(out bool c) ? c : null;

    private static string? StringKey(JsonObject? config, JsonObject? text, string key) =>
        config?[key] is JsonValue v && v.TryGetValue(out string? s) ? s : text?[key] is JsonValue t && t.TryGetValue(out string? u) ? u : null;

    private static string? StringAt(JsonArray? array) => array is [JsonValue v, ..] && v.TryGetValue(out string? s) ? s : null;
}
