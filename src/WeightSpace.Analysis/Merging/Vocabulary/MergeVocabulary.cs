using System.Text.Encodings.Web;
using WeightSpace.Analysis.Merging.Config;

namespace WeightSpace.Analysis.Merging.Vocabulary;

/// <summary>The output vocabulary of a merge with <c>tokenizer_source</c> or a <c>tokenizer:</c> block, and every model's
/// embedding rows remapped onto it, as mergekit's <c>build_tokenizer</c> and <c>PermutedEmbeddings</c> do.</summary>
/// <remarks>
/// Vocabulary: <c>base</c> is the base model's (base_model, else the first model), with ids at or above its
/// <c>vocab_size</c> dropped; a model reference is that model's; <c>union</c> is the base's plus every other model's
/// tokens not in it, appended in model order and, within a model, by id (mergekit appends them in its tokenizers'
/// hash-map order, so only which id a new token gets can differ; each token keeps its embedding). Tokens named in
/// <c>tokens:</c> are added when absent.
/// Rows (embeddings and lm_head, each model separately, before the merge method sees them): a model that has the token
/// keeps its row unless the token's entry says <c>force</c>; otherwise the row is the token's entry's source, or
/// mergekit's default: the one model that has the token, else the base model's row if it has it, else the mean of the
/// rows of the models that have it; a token no model has gets zeros (mergekit warns). Rows past the vocabulary
/// (<c>pad_to_multiple_of</c>) are zero.
/// </remarks>
public sealed class MergeVocabulary
{
    private static readonly string[] EmbeddingMarkers = ["embed_tokens", "lm_head", "wte", "word_embeddings", "embed_in", "embed_out", "output.weight", "tok_embeddings"];
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly Dictionary<string, int[]> _permutations;      // model → output id → model row (-1 absent)
    private readonly Dictionary<string, TokenizerVocabulary> _vocabularies;
    private readonly List<string> _outTokens;                      // output id → token
    private readonly TokenizerSettings _settings;
    private readonly string _baseModel;
    private readonly Dictionary<string, float[]> _defaults = new(StringComparer.Ordinal);   // tensor → default rows (flattened, NaN-free)
    private readonly Dictionary<string, bool[]> _hasDefault = new(StringComparer.Ordinal);

    private MergeVocabulary(TokenizerSettings settings, string baseModel, List<string> outTokens, Dictionary<string, int[]> permutations,
        Dictionary<string, TokenizerVocabulary> vocabularies, IReadOnlyDictionary<string, byte[]> files, int rows, List<string> warnings)
    {
        _settings = settings; _baseModel = baseModel; _outTokens = outTokens; _permutations = permutations; _vocabularies = vocabularies;
        TokenizerFiles = files; Rows = rows; Warnings = warnings;
    }

    /// <summary>Tokens in the output vocabulary.</summary>
    public int Size => _outTokens.Count;

    /// <summary>Rows of the output embeddings: <see cref="Size"/> padded to <c>pad_to_multiple_of</c> (config.json's <c>vocab_size</c>).</summary>
    public int Rows { get; }

    /// <summary>Tokenizer files to write with the output (tokenizer.json, tokenizer_config.json) when the vocabulary is
    /// not a model's own; empty when the source model's files are copied as they are.</summary>
    public IReadOnlyDictionary<string, byte[]> TokenizerFiles { get; }

    /// <summary>The model whose remaining tokenizer files go with the output.</summary>
    public string TokenizerModel => _settings.Source is "base" or "union" ? _baseModel : _settings.Source;

    /// <summary>Problems that do not stop the merge (tokens no model has), one line each.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Builds the vocabulary from every model's tokenizer.json and config.json <c>vocab_size</c>.</summary>
    /// <param name="config">A config with <see cref="MergeConfig.Tokenizer"/> set.</param>
    /// <param name="stores">The opened models, by reference.</param>
    /// <param name="folderOf">Each reference's local folder (tokenizer.json, config.json).</param>
    /// <exception cref="MergeConfigException">A tokenizer is missing or malformed, or a token entry names a token or row a model lacks.</exception>
    public static MergeVocabulary Build(MergeConfig config, IReadOnlyDictionary<string, TensorStore> stores, Func<string, string?> folderOf)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(stores);
        ArgumentNullException.ThrowIfNull(folderOf);
        var settings = config.Tokenizer ?? throw new ArgumentException("The config builds no vocabulary.", nameof(config));
        var models = config.ReferencedModels();
        string baseModel = config.BaseModel ?? models[0];
        var vocabularies = new Dictionary<string, TokenizerVocabulary>(StringComparer.Ordinal);
        var sizes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string m in models)
        {
            string folder = folderOf(m) ?? throw new MergeConfigException("tokenizer", null, $"model '{m}' has no folder to read tokenizer.json from");
            vocabularies[m] = TokenizerVocabulary.Load(folder, m);
            sizes[m] = VocabSize(folder, stores[m]) ?? vocabularies[m].Ids.Count;
        }
        // Output vocabulary, ids in order.
        var outTokens = new List<string>();
        var outIds = new Dictionary<string, int>(StringComparer.Ordinal);
        void Append(string token) { if (outIds.TryAdd(token, outTokens.Count)) outTokens.Add(token); }
        string source = settings.Source;
        var sourceVocab = source is "base" or "union" ? vocabularies[baseModel] : vocabularies[source];
        int sourceSize = source is "base" or "union" ? sizes[baseModel] : int.MaxValue;
        var kept = sourceVocab.InIdOrder.Where(p => p.Value < sourceSize).ToList();
        // Keep the source's own ids: they are what its tokenizer.json encodes to.
        foreach (var (token, id) in kept)
        {
            while (outTokens.Count < id) Append($"<weightspace-unused-{outTokens.Count}>");
            Append(token);
        }
        var appended = new List<(string Token, JsonObject? Entry)>();
        void AppendNew(string token, JsonObject? entry)
        {
            if (outIds.ContainsKey(token)) return;
            Append(token);
            appended.Add((token, entry));
        }
        if (source == "union")
            foreach (string m in models.Where(m => m != baseModel).Prepend(baseModel))
                foreach (var (token, id) in vocabularies[m].InIdOrder)
                    if (id < sizes[m]) AppendNew(token, vocabularies[m].Added.GetValueOrDefault(token));
        foreach (string token in settings.Tokens.Keys) AppendNew(token, null);

        var permutations = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (string m in models)
        {
            var p = new int[outTokens.Count];
            for (int i = 0; i < p.Length; i++)
                p[i] = vocabularies[m].Ids.TryGetValue(outTokens[i], out int id) && id < sizes[m] ? id : -1;
            permutations[m] = p;
        }
        // Token entries must point at rows that exist.
        foreach (var (token, s) in settings.Tokens)
        {
            if (s.Kind == TokenSourceKind.Model && permutations[s.Model!][outIds[token]] < 0)
                throw new MergeConfigException("tokens", config.LineOf("tokenizer"), $"token '{token}': model '{s.Model}' does not have it");
            if (s.Kind == TokenSourceKind.ModelToken)
            {
                int row = s.TokenId ?? (vocabularies[s.Model!].Ids.TryGetValue(s.Token!, out int id) ? id
                    : throw new MergeConfigException("tokens", config.LineOf("tokenizer"), $"token '{token}': '{s.Token}' is not in model '{s.Model}'"));
                if (row >= sizes[s.Model!])
                    throw new MergeConfigException("tokens", config.LineOf("tokenizer"), $"token '{token}': row {row} is outside model '{s.Model}' ({sizes[s.Model!]} rows)");
            }
        }
        int rows = outTokens.Count;
        if (settings.PadToMultipleOf is int pad && rows % pad != 0) rows += pad - rows % pad;
        var warnings = new List<string>();
        for (int i = 0; i < outTokens.Count; i++)
            if (!settings.Tokens.ContainsKey(outTokens[i]) && permutations.Values.All(p => p[i] < 0) && !outTokens[i].StartsWith("<weightspace-unused-", StringComparison.Ordinal))
                warnings.Add($"token '{outTokens[i]}' is in no model; its embedding rows are zero (as mergekit)");
        var files = appended.Count == 0 && (source != "base" || kept.Count == sourceVocab.Ids.Count)
            ? new Dictionary<string, byte[]>()
            : OutputFiles(sourceVocab, folderOf(source is "base" or "union" ? baseModel : source)!, appended, outIds, sourceSize);
        return new MergeVocabulary(settings, baseModel, outTokens, permutations, vocabularies, files, rows, warnings);
    }

    /// <summary>Wraps every store so its embedding tensors have the output vocabulary's rows.</summary>
    public IReadOnlyDictionary<string, TensorStore> Wrap(IReadOnlyDictionary<string, TensorStore> stores)
    {
        ArgumentNullException.ThrowIfNull(stores);
        return stores.ToDictionary(p => p.Key, p => (TensorStore)new RemappedEmbeddingStore(p.Key, p.Value, this, stores), StringComparer.Ordinal);
    }

    /// <summary>True for a tensor remapped by token: an embedding or output head whose rows are the model's vocabulary.</summary>
    internal bool IsEmbedding(string model, TensorInfo info) =>
        info.Shape.Rank == 2 && info.DType.IsFloatingPoint() && EmbeddingMarkers.Any(m => info.Name.Contains(m, StringComparison.Ordinal))
        && _permutations.TryGetValue(model, out var p) && info.Shape[0] >= p.Where(x => x >= 0).DefaultIfEmpty(-1).Max() + 1;

    /// <summary>Model <paramref name="model"/>'s tensor with rows in output order (float32, [Rows, dim]).</summary>
    internal float[] Remap(string model, string tensor, IReadOnlyDictionary<string, TensorStore> stores)
    {
        var own = stores[model].ReadSingle(tensor);
        int dim = (int)stores[model].GetInfo(tensor).Shape[1];
        var (defaults, has) = Defaults(tensor, dim, stores);
        var p = _permutations[model];
        var result = new float[checked(Rows * dim)];
        for (int i = 0; i < _outTokens.Count; i++)
        {
            bool force = _settings.Tokens.TryGetValue(_outTokens[i], out var s) && s.Force;
            if (p[i] >= 0 && !force) Array.Copy(own, (long)p[i] * dim, result, (long)i * dim, dim);
            else if (has[i]) Array.Copy(defaults, (long)i * dim, result, (long)i * dim, dim);
        }
        return result;
    }

    // mergekit's default_embeds: computed once per tensor name, over every model.
    private (float[] Rows, bool[] Has) Defaults(string tensor, int dim, IReadOnlyDictionary<string, TensorStore> stores)
    {
        lock (_defaults)
        {
            if (_defaults.TryGetValue(tensor, out var cached)) return (cached, _hasDefault[tensor]);
            var models = _permutations.Keys.ToList();
            var data = new Dictionary<string, float[]>(StringComparer.Ordinal);
            float[] Of(string m) => data.TryGetValue(m, out var d) ? d : data[m] = stores[m].ReadSingle(tensor);
            var rows = new float[checked(_outTokens.Count * dim)];
            var has = new bool[_outTokens.Count];
            for (int i = 0; i < _outTokens.Count; i++)
            {
                string token = _outTokens[i];
                var span = rows.AsSpan(i * dim, dim);
                if (_settings.Tokens.TryGetValue(token, out var s) && s.Kind != TokenSourceKind.Default)
                {
                    has[i] = true;
                    switch (s.Kind)
                    {
                        case TokenSourceKind.Zero: break;
                        case TokenSourceKind.Model: Of(s.Model!).AsSpan(_permutations[s.Model!][i] * dim, dim).CopyTo(span); break;
                        case TokenSourceKind.ModelToken:
                            int row = s.TokenId ?? _vocabularies[s.Model!].Ids[s.Token!];
                            Of(s.Model!).AsSpan(row * dim, dim).CopyTo(span);
                            break;
                    }
                    continue;
                }
                var present = models.Where(m => _permutations[m][i] >= 0).ToList();
                has[i] = true;
                if (present.Count == 0) continue;   // zero row
                if (present.Count == 1) { Of(present[0]).AsSpan(_permutations[present[0]][i] * dim, dim).CopyTo(span); continue; }
                if (_permutations.TryGetValue(_baseModel, out var bp) && bp[i] >= 0) { Of(_baseModel).AsSpan(bp[i] * dim, dim).CopyTo(span); continue; }
                foreach (string m in present)
                    System.Numerics.Tensors.TensorPrimitives.Add(span, Of(m).AsSpan(_permutations[m][i] * dim, dim), span);
                System.Numerics.Tensors.TensorPrimitives.Divide(span, present.Count, span);
            }
            _defaults[tensor] = rows;
            _hasDefault[tensor] = has;
            return (rows, has);
        }
    }

    private static int? VocabSize(string folder, TensorStore store)
    {
        string path = Path.Combine(folder, "config.json");
        if (File.Exists(path))
        {
            try
            {
                var node = JsonNode.Parse(File.ReadAllText(path));
                if ((node?["vocab_size"] ?? node?["text_config"]?["vocab_size"]) is JsonValue v && v.TryGetValue(out int n)) return n;
            }
            catch (JsonException) { }
        }
        var embed = store.Tensors.FirstOrDefault(t => t.Shape.Rank == 2 && EmbeddingMarkers.Any(m => t.Name.Contains(m, StringComparison.Ordinal)));
        return embed is null ? null : (int)embed.Shape[0];
    }

    // The source's tokenizer.json with the new tokens appended as added tokens (what transformers' add_tokens saves),
    // and tokenizer_config.json's added_tokens_decoder to match.
    private static Dictionary<string, byte[]> OutputFiles(TokenizerVocabulary source, string folder, List<(string Token, JsonObject? Entry)> appended,
        Dictionary<string, int> outIds, int sourceSize)
    {
        var doc = (JsonObject)source.Document.DeepClone();
        var added = doc["added_tokens"] as JsonArray ?? [];
        doc["added_tokens"] = added;
        // Drop entries past the source's vocab_size (mergekit's get_stripped_tokenizer).
        for (int i = added.Count - 1; i >= 0; i--)
            if (added[i]?["id"]?.GetValue<int>() >= sourceSize) added.RemoveAt(i);
        if (doc["model"]?["vocab"] is JsonObject vocab)
            foreach (var key in vocab.Where(p => p.Value?.GetValue<int>() >= sourceSize).Select(p => p.Key).ToList()) vocab.Remove(key);
        var entries = new List<JsonObject>();
        foreach (var (token, entry) in appended)
        {
            var e = new JsonObject
            {
                ["id"] = outIds[token],
                ["content"] = token,
                ["single_word"] = entry?["single_word"]?.DeepClone() ?? false,
                ["lstrip"] = entry?["lstrip"]?.DeepClone() ?? false,
                ["rstrip"] = entry?["rstrip"]?.DeepClone() ?? false,
                ["normalized"] = entry?["normalized"]?.DeepClone() ?? true,
                ["special"] = entry?["special"]?.DeepClone() ?? false,
            };
            added.Add(e);
            entries.Add(e);
        }
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal) { ["tokenizer.json"] = Encoding.UTF8.GetBytes(doc.ToJsonString(Indented)) };
        string configPath = Path.Combine(folder, "tokenizer_config.json");
        if (File.Exists(configPath) && JsonNode.Parse(File.ReadAllText(configPath)) is JsonObject tokConfig)
        {
            var decoder = tokConfig["added_tokens_decoder"] as JsonObject ?? [];
            tokConfig["added_tokens_decoder"] = decoder;
            foreach (var e in entries)
            {
                var d = (JsonObject)e.DeepClone();
                string id = d["id"]!.ToString();
                d.Remove("id");
                decoder[id] = d;
            }
            files["tokenizer_config.json"] = Encoding.UTF8.GetBytes(tokConfig.ToJsonString(Indented) + "\n");
        }
        return files;
    }
}
