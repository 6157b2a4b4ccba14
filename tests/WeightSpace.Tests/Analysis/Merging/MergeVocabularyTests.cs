using System.Text.Json.Nodes;
using WeightSpace.Analysis.Merging.Config;
using WeightSpace.Analysis.Merging.Inputs;
using WeightSpace.Analysis.Merging.Planning;
using WeightSpace.Analysis.Merging.Vocabulary;
using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Tests.Analysis.Merging;

/// <summary>Models with different vocabularies, merged as mergekit's build_tokenizer and PermutedEmbeddings do.</summary>
public sealed class MergeVocabularyTests
{
    // a: x y z; b: y w x. Embedding rows are distinct numbers so every row's origin shows.
    private static (string A, string B) Models()
    {
        string dir = SharedData.TempFolder();
        string Model(string name, string[] tokens, float offset)
        {
            string folder = Path.Combine(dir, name);
            Directory.CreateDirectory(folder);
            var store = new InMemoryTensorStore(name);
            store.Add("model.embed_tokens.weight", Enumerable.Range(0, 6).Select(i => offset + i).ToArray(), 3, 2);
            store.Add("model.layers.0.mlp.up_proj.weight", Enumerable.Range(0, 4).Select(i => offset + 10 + i).ToArray(), 2, 2);
            store.Add("lm_head.weight", Enumerable.Range(0, 6).Select(i => offset + 20 + i).ToArray(), 3, 2);
            SafetensorsWriter.Copy(store, Path.Combine(folder, "model.safetensors"));
            var vocab = new JsonObject();
            for (int i = 0; i < tokens.Length; i++) vocab[tokens[i]] = i;
            File.WriteAllText(Path.Combine(folder, "tokenizer.json"), new JsonObject { ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = new JsonArray() }, ["added_tokens"] = new JsonArray() }.ToJsonString());
            File.WriteAllText(Path.Combine(folder, "config.json"), """{"architectures": ["LlamaForCausalLM"], "vocab_size": 3, "num_hidden_layers": 1}""");
            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), """{"tokenizer_class": "PreTrainedTokenizerFast"}""");
            return folder;
        }
        return (Model("a", ["x", "y", "z"], 0), Model("b", ["y", "w", "x"], 100));
    }

    private static (Dictionary<string, float[]> Tensors, MergeVocabulary Vocabulary) Merge(string yaml, string a, string b)
    {
        var config = MergeConfig.Parse(yaml.Replace("A_", a, StringComparison.Ordinal).Replace("B_", b, StringComparison.Ordinal));
        using var models = MergeModelSet.Open(config.ReferencedModels(), r => r);
        var vocabulary = MergeVocabulary.Build(config, models.Stores, models.FolderOf);
        var sink = new CollectingSink();
        MergeRunner.Run(MergePlan.Create(config, models.Stores, null, vocabulary), sink, ct: TestContext.Current.CancellationToken);
        return (sink.Floats.ToDictionary(p => p.Key, p => p.Value), vocabulary);
    }

    private const string Linear = "merge_method: linear\nmodels:\n  - model: A_\n  - model: B_\nparameters: {weight: 1}\n";

    [Fact]
    public void Union_AppendsNewTokens_TakesMissingRowsFromTheOneModelThatHasThem()
    {
        var (a, b) = Models();
        var (t, vocabulary) = Merge(Linear + "tokenizer_source: union\n", a, b);
        // Output vocabulary x y z w. a's rows: x=[0,1] y=[2,3] z=[4,5]; b's: y=[100,101] w=[102,103] x=[104,105].
        // x: (a.x + b.x)/2; y: (a.y + b.y)/2; z only in a → both models use a.z; w only in b → b.w.
        Assert.Equal(4, vocabulary.Rows);
        MergeTestKit.Close([52, 53, 51, 52, 4, 5, 102, 103], t["model.embed_tokens.weight"], 1e-6);
        MergeTestKit.Close([72, 73, 71, 72, 24, 25, 122, 123], t["lm_head.weight"], 1e-6);
        MergeTestKit.Close([60, 61, 62, 63], t["model.layers.0.mlp.up_proj.weight"], 1e-6);
        var tokenizer = JsonNode.Parse(vocabulary.TokenizerFiles["tokenizer.json"])!;
        var added = Assert.Single(tokenizer["added_tokens"]!.AsArray());
        Assert.Equal("w", (string)added!["content"]!);
        Assert.Equal(3, (int)added["id"]!);
    }

    [Fact]
    public void Base_KeepsTheBaseVocabulary_AndForceOverridesEveryModel()
    {
        var (a, b) = Models();
        var (t, vocabulary) = Merge(Linear + "tokenizer_source: base\n", a, b);
        Assert.Equal(3, vocabulary.Rows);
        Assert.Empty(vocabulary.TokenizerFiles);   // the base's own files are copied
        MergeTestKit.Close([52, 53, 51, 52, 4, 5], t["model.embed_tokens.weight"], 1e-6);

        // force: every model's x row is b's x, so the merge of x is b.x; pad_to_multiple_of 8 adds zero rows.
        (t, vocabulary) = Merge(Linear + "tokenizer:\n  source: union\n  pad_to_multiple_of: 8\n  tokens:\n    x: {source: B_, force: true}\n    new: {source: {kind: model_token, model: A_, token: z}}\n", a, b);
        Assert.Equal(8, vocabulary.Rows);
        var embed = t["model.embed_tokens.weight"];
        MergeTestKit.Close([104, 105, 51, 52, 4, 5, 102, 103, 4, 5, 0, 0, 0, 0, 0, 0], embed, 1e-6);
    }
}
