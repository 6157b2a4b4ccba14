namespace WeightSpace.Analysis.Merging.Vocabulary;

/// <summary>A model's vocabulary as transformers' <c>get_vocab()</c> gives it, read from <c>tokenizer.json</c>: the model's
/// tokens (BPE/WordPiece/WordLevel <c>vocab</c> map, Unigram piece list) plus <c>added_tokens</c>.</summary>
/// <remarks>Plain JSON (System.Text.Json) rather than Microsoft.ML.Tokenizers: the merge needs the token strings and must
/// write tokenizer.json back with tokens appended, which that library does not serialise.</remarks>
/// <param name="Path">The tokenizer.json file.</param>
/// <param name="Document">The parsed file (to write back with tokens appended).</param>
/// <param name="Ids">Token → id, added tokens included.</param>
/// <param name="Added">Added tokens by content, with their tokenizer.json entries (special, lstrip, …).</param>
internal sealed record TokenizerVocabulary(string Path, JsonObject Document, Dictionary<string, int> Ids, Dictionary<string, JsonObject> Added)
{
    private const long MaxFileBytes = 256L << 20;

    /// <summary>Tokens in id order (ties by text), for deterministic iteration.</summary>
    public IEnumerable<KeyValuePair<string, int>> InIdOrder => Ids.OrderBy(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal);

    /// <summary>Reads <c>FOLDER/tokenizer.json</c>.</summary>
    /// <exception cref="MergeConfigException">The file is missing, too large or not a tokenizer.json.</exception>
    public static TokenizerVocabulary Load(string folder, string model)
    {
        string path = System.IO.Path.Combine(folder, "tokenizer.json");
        if (!File.Exists(path))
            throw new MergeConfigException("tokenizer", null, $"model '{model}' has no tokenizer.json in {folder}; building a vocabulary needs every model's tokenizer.json (a fast tokenizer)");
        if (new FileInfo(path).Length > MaxFileBytes) throw new MergeConfigException("tokenizer", null, $"{path} is larger than {MaxFileBytes >> 20} MiB");
        JsonObject root;
        try { root = JsonNode.Parse(File.ReadAllBytes(path)) as JsonObject ?? throw new MergeConfigException("tokenizer", null, $"{path}: not a JSON object"); }
        catch (JsonException e) { throw new MergeConfigException("tokenizer", null, $"{path}: not valid JSON ({e.Message})"); }
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        switch (root["model"]?["vocab"])
        {
            case JsonObject map:
                foreach (var (token, id) in map) ids[token] = Id(id, path, token);
                break;
            case JsonArray pieces:   // Unigram: [[piece, score], …], the id is the position
                for (int i = 0; i < pieces.Count; i++)
                    if (pieces[i] is JsonArray { Count: > 0 } entry && entry[0]?.GetValue<string>() is { } piece) ids.TryAdd(piece, i);
                break;
            default:
                throw new MergeConfigException("tokenizer", null, $"{path}: model.vocab is neither a token map nor a piece list");
        }
        var added = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var node in root["added_tokens"] as JsonArray ?? [])
            if (node is JsonObject entry && entry["content"]?.GetValue<string>() is { } content)
            {
                ids[content] = Id(entry["id"], path, content);
                added[content] = entry;
            }
        return new TokenizerVocabulary(path, root, ids, added);
    }

    private static int Id(JsonNode? node, string path, string token)
    {
        try
        {
            int id = node!.GetValue<int>();
            return id >= 0 ? id : throw new MergeConfigException("tokenizer", null, $"{path}: token '{token}' has a negative id");
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or NullReferenceException)
        {
            throw new MergeConfigException("tokenizer", null, $"{path}: token '{token}' has no integer id");
        }
    }
}
