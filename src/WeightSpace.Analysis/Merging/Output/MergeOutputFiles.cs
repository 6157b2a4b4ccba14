using System.Text.Encodings.Web;
using WeightSpace.Analysis.Merging.Config;
using WeightSpace.Analysis.Merging.Planning;
using WeightSpace.Formats.Hub;

namespace WeightSpace.Analysis.Merging.Output;

/// <summary>What goes beside a merge's weights so Hugging Face tooling loads it right, as mergekit's
/// <c>run_merge</c> writes it: <c>config.json</c> rewritten for the output, <c>README.md</c> (model card) and
/// <c>mergekit_config.yml</c>, and the chat template in the tokenizer files.</summary>
public static class MergeOutputFiles
{
    private static readonly string[] LayerCountKeys = ["num_hidden_layers", "n_layer", "num_layers", "n_layers"];
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Builds the files (name → bytes) to write beside the weights.</summary>
    /// <param name="config">The config as run.</param>
    /// <param name="plan">Its plan (for the output layer count and embedding rows).</param>
    /// <param name="options">Where the models' folders are, what to write.</param>
    /// <param name="warnings">Receives one line per problem that does not stop the merge (as mergekit logs them).</param>
    /// <exception cref="MergeConfigException">A chat template cannot be resolved, or a donor's config.json is not JSON.</exception>
    public static IReadOnlyDictionary<string, byte[]> Build(MergeConfig config, MergePlan plan, MergeOutputOptions options, ICollection<string> warnings)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(options);
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        string donor = DonorModel(config);
        string? donorFolder = options.FolderOf(donor);
        if (donorFolder is not null && ReadJson(Path.Combine(donorFolder, "config.json")) is JsonObject modelConfig)
            files["config.json"] = Utf8(OutputConfig(modelConfig, config, plan, warnings).ToJsonString(Indented) + "\n");
        if (options.WriteModelCard)
        {
            files["README.md"] = Utf8(ModelCard(config, options.ConfigYaml, options.OutputName));
            files["mergekit_config.yml"] = Utf8(options.ConfigYaml);
        }
        foreach (var (name, bytes) in options.TokenizerFiles ?? new Dictionary<string, byte[]>()) files[name] = bytes;
        if (config.ChatTemplate is not null)
        {
            string? tokenizerFolder = options.TokenizerFolder;
            if (tokenizerFolder is null)
                warnings.Add("chat_template is set but no tokenizer is written (--no-copy-tokenizer), so the template is not saved (as mergekit)");
            else if (ResolveChatTemplate(config, options.FolderOf, warnings) is { } template)
            {
                var tokenizerConfig = (files.TryGetValue("tokenizer_config.json", out var built) ? JsonNode.Parse(built) : ReadJson(Path.Combine(tokenizerFolder, "tokenizer_config.json"))) as JsonObject ?? [];
                tokenizerConfig["chat_template"] = template;
                files["tokenizer_config.json"] = Utf8(tokenizerConfig.ToJsonString(Indented) + "\n");
                // transformers prefers chat_template.jinja over the key, so a donor's file must not survive unchanged.
                if (File.Exists(Path.Combine(tokenizerFolder, "chat_template.jinja"))) files["chat_template.jinja"] = Utf8(template);
            }
        }
        return files;
    }

    /// <summary>The model whose config.json and tagalong files the output takes: the base model, else the first
    /// referenced model (mergekit's <c>_get_donor_model</c> and <c>_model_out_config</c>).</summary>
    public static string DonorModel(MergeConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.BaseModel ?? config.ReferencedModels()[0];
    }

    /// <summary>mergekit's <c>_model_out_config</c>: the donor's config with <c>torch_dtype</c> (and <c>dtype</c>, which
    /// newer transformers writes) set from <c>out_dtype</c>, else <c>dtype</c>; the layer count set to the sum of the
    /// slices' lengths when the config has slices; <c>vocab_size</c> set to the output vocabulary when a tokenizer is built.</summary>
    internal static JsonObject OutputConfig(JsonObject donorConfig, MergeConfig config, MergePlan plan, ICollection<string> warnings)
    {
        var result = (JsonObject)donorConfig.DeepClone();
        if ((config.OutDType ?? config.DType) is { } dtype)
        {
            string name = TorchName(dtype);
            result["torch_dtype"] = name;
            if (result.ContainsKey("dtype")) result["dtype"] = name;
            if (result["text_config"] is JsonObject text && text.ContainsKey("torch_dtype")) text["torch_dtype"] = name;
        }
        if (config.Slices is not null)
        {
            var holder = LayerCountKeys.Any(result.ContainsKey) ? result : result["text_config"] as JsonObject;
            string? key = holder is null ? null : LayerCountKeys.FirstOrDefault(holder.ContainsKey);
            if (key is null) warnings.Add($"config.json has none of {string.Join(", ", LayerCountKeys)}; set the layer count ({plan.LayerCount}) by hand");
            else holder![key] = plan.LayerCount;
        }
        if (plan.VocabularySize is int vocab)
        {
            var holder = result.ContainsKey("vocab_size") || result["text_config"] is not JsonObject ? result : (JsonObject)result["text_config"]!;
            holder["vocab_size"] = vocab;
        }
        return result;
    }

    /// <summary>The model card mergekit writes (<c>mergekit/card.py</c>): front matter with the hub ids among the inputs,
    /// the method (with its reference), the base, the other models, and the YAML as run. As in mergekit, slerp names
    /// no base: its base is merged like the other model.</summary>
    internal static string ModelCard(MergeConfig config, string configYaml, string name)
    {
        var method = config.Method;
        string? shownBase = config.MergeMethod == "slerp" ? null : config.BaseModel;
        var hub = config.ReferencedModels().SelectMany(HubIds).Distinct(StringComparer.Ordinal).ToList();
        var card = new StringBuilder();
        card.Append("---\n");
        card.Append(hub.Count == 0 ? "base_model: []\n" : "base_model:\n" + string.Concat(hub.Select(h => $"- {h}\n")));
        card.Append("library_name: transformers\ntags:\n- mergekit\n- merge\n\n---\n");
        card.Append("# ").Append(string.IsNullOrWhiteSpace(name) ? "Untitled Model (1)" : name).Append("\n\n");
        card.Append("This model is a merge of pre-trained language models, made with WeightSpace's mergekit-compatible `merge` ")
            .Append("(https://github.com/arcee-ai/mergekit defines the configuration format).\n\n");
        card.Append("## Merge Details\n### Merge Method\n\n");
        card.Append("The models were merged with the [").Append(method.Name).Append("](").Append(method.Paper).Append(") method");
        if (shownBase is not null) card.Append(", with ").Append(Link(shownBase)).Append(" as the base");
        card.Append(".\n\n### Models Merged\n\nThe merge includes these models:\n");
        foreach (string m in config.ReferencedModels().Where(m => m != shownBase)) card.Append("* ").Append(Link(m)).Append('\n');
        card.Append("\n### Configuration\n\nThis YAML configuration produced the model:\n\n```yaml\n").Append(configYaml.TrimEnd()).Append("\n```\n");
        return card.ToString();
    }

    /// <summary>The chat template to write: <c>auto</c> picks the template most of the input models share (mergekit's
    /// plurality vote over their tokenizers' templates; nothing when none has one), a name gives that template, anything
    /// else is taken as Jinja.</summary>
    internal static string? ResolveChatTemplate(MergeConfig config, Func<string, string?> folderOf, ICollection<string> warnings)
    {
        string template = config.ChatTemplate!;
        if (template == "auto")
        {
            var found = new List<string>();
            foreach (string model in config.ReferencedModels())
                if (folderOf(model) is { } folder && ReadTemplate(folder) is { } t) found.Add(t.Trim());
            if (found.Count == 0)
            {
                warnings.Add("chat_template: auto found no chat template in any input model; none is written (as mergekit)");
                return null;
            }
            // Counter.most_common: the highest count, ties to the template seen first.
            return found.GroupBy(t => t, StringComparer.Ordinal).OrderByDescending(g => g.Count()).First().Key;
        }
        return ChatTemplates.IsNamed(template) ? ChatTemplates.Get(template) : template;
    }

    private static string? ReadTemplate(string folder)
    {
        string jinja = Path.Combine(folder, "chat_template.jinja");
        if (File.Exists(jinja)) return File.ReadAllText(jinja);
        var node = ReadJson(Path.Combine(folder, "tokenizer_config.json"))?["chat_template"];
        return node switch
        {
            JsonValue v when v.TryGetValue(out string? s) => s,
            // A list of named templates: transformers' "default" entry.
            JsonArray list => list.OfType<JsonObject>().FirstOrDefault(o => (string?)o["name"] == "default")?["template"]?.GetValue<string>(),
            _ => null,
        };
    }

    private static IEnumerable<string> HubIds(string reference)
    {
        foreach (string part in reference.Split('+'))
        {
            string id = part.Split('@')[0];
            if (!File.Exists(part) && !Directory.Exists(part) && id.Contains('/', StringComparison.Ordinal) && HuggingFaceCache.LooksLikeRepoId(part)) yield return id;
        }
    }

    private static string Link(string reference) =>
        string.Join(" + ", reference.Split('+').Select(p => HubIds(p).Any() ? $"[{p}](https://huggingface.co/{p.Split('@')[0]})" : p));

    internal static string TorchName(DType dtype) => dtype switch
    {
        DType.BF16 => "bfloat16",
        DType.F16 => "float16",
        DType.F64 => "float64",
        _ => "float32",
    };

    private static JsonNode? ReadJson(string path)
    {
        if (!File.Exists(path)) return null;
        try { return JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new MergeConfigException(Path.GetFileName(path), null, $"{path} is not valid JSON: {e.Message}"); }
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}

/// <summary>Inputs of <see cref="MergeOutputFiles.Build"/>.</summary>
public sealed record MergeOutputOptions
{
    /// <summary>Maps a config model reference to the local folder holding its config and tokenizer files, or null.</summary>
    public required Func<string, string?> FolderOf { get; init; }

    /// <summary>The YAML text as run (recorded in <c>mergekit_config.yml</c> and the card).</summary>
    public required string ConfigYaml { get; init; }

    /// <summary>The model's name in the card (mergekit: the output folder's name).</summary>
    public required string OutputName { get; init; }

    /// <summary>Write <c>README.md</c> and <c>mergekit_config.yml</c> (mergekit's <c>--write-model-card</c>, default on).</summary>
    public bool WriteModelCard { get; init; } = true;

    /// <summary>Tokenizer files built for the output (a merged vocabulary's tokenizer.json and tokenizer_config.json), written as they are.</summary>
    public IReadOnlyDictionary<string, byte[]>? TokenizerFiles { get; init; }

    /// <summary>The folder whose tokenizer files are copied to the output, or null when none are (<c>--no-copy-tokenizer</c>).</summary>
    public string? TokenizerFolder { get; init; }
}
