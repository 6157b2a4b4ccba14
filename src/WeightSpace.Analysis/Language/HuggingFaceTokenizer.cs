using Microsoft.ML.Tokenizers;

namespace WeightSpace.Analysis.Language;

/// <summary>A Hugging Face <c>tokenizer.json</c> run by Microsoft.ML.Tokenizers: byte-level BPE (GPT-2, Llama 3, Qwen2)
/// or SentencePiece-style BPE (Llama 2, Mistral: ▁ for spaces, byte fallback).</summary>
/// <remarks>
/// The file is untrusted input: a size limit, a depth limit, every id checked against the vocabulary size, and every
/// component type not implemented here (WordPiece, Unigram, NFKC normalizers, …) rejected by name rather than ignored,
/// because ignoring one silently changes every token. No BOS/EOS token is added (HF's post-processor is not applied):
/// evaluation windows are scored as raw text, as the shared data's protocol does.
/// </remarks>
public sealed class HuggingFaceTokenizer
{
    /// <summary>Largest tokenizer.json accepted, in bytes (Llama 3's is 9 MB).</summary>
    public const long MaxFileBytes = 64L << 20;

    /// <summary>Largest vocabulary accepted.</summary>
    public const int MaxVocabularySize = 1 << 22;

    // GPT-2's pre-tokenizer pattern (tokenizers' ByteLevel with use_regex = true).
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    private const char SentencePieceSpace = '\u2581';

    private readonly Tokenizer _bpe;
    private readonly Dictionary<string, int> _vocabulary;
    private readonly int[] _byteFallback;   // <0xXX> ids, or empty
    private readonly int? _unknownId;
    private readonly string? _prepend;
    private readonly (string From, string To)[] _replacements;
    private readonly int[] _tokenByteLengths;

    private HuggingFaceTokenizer(string source, TokenizerKind kind, Tokenizer bpe, Dictionary<string, int> vocabulary, int size,
        int[] byteFallback, int? unknownId, string? prepend, (string, string)[] replacements)
    {
        Source = source;
        Kind = kind;
        _bpe = bpe;
        _vocabulary = vocabulary;
        VocabularySize = size;
        _byteFallback = byteFallback;
        _unknownId = unknownId;
        _prepend = prepend;
        _replacements = replacements;
        _tokenByteLengths = TokenByteLengths(kind, vocabulary, size);
    }

    /// <summary>The file the tokenizer was read from.</summary>
    public string Source { get; }

    /// <summary>Which kind of tokenizer.json it is.</summary>
    public TokenizerKind Kind { get; }

    /// <summary>One more than the largest token id (vocabulary and added tokens).</summary>
    public int VocabularySize { get; }

    /// <summary>Reads <paramref name="path"/> (a tokenizer.json, or the model folder holding one).</summary>
    /// <exception cref="FileNotFoundException">There is no tokenizer.json.</exception>
    /// <exception cref="InvalidModelConfigException">The file is malformed.</exception>
    /// <exception cref="UnsupportedModelException">A component (model, normalizer, pre-tokenizer) is not implemented.</exception>
    public static HuggingFaceTokenizer Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path)) path = Path.Combine(path, "tokenizer.json");
        using var document = ModelJson.Load(path, MaxFileBytes, maxDepth: 32);
        return ModelJson.Guard(path, () => Parse(document.RootElement, path));
    }

    /// <summary>Parses tokenizer.json content; <paramref name="path"/> names it in errors.</summary>
    /// <exception cref="InvalidModelConfigException">The content is malformed.</exception>
    /// <exception cref="UnsupportedModelException">A component is not implemented.</exception>
    public static HuggingFaceTokenizer Parse(ReadOnlyMemory<byte> utf8Json, string path)
    {
        if (utf8Json.Length > MaxFileBytes) throw new InvalidModelConfigException(path, null, $"content has {utf8Json.Length} bytes, more than the {MaxFileBytes} accepted");
        using var document = ModelJson.Parse(utf8Json, path, maxDepth: 32);
        return ModelJson.Guard(path, () => Parse(document.RootElement, path));
    }

    /// <summary>Token ids of <paramref name="utf8Text"/>, which must be valid UTF-8.</summary>
    /// <param name="utf8Text">The text's bytes.</param>
    /// <param name="sourceName">The text's file name, for errors.</param>
    /// <exception cref="InvalidTextException">The bytes are not UTF-8 (the message gives the offset), or a character
    /// is neither in the vocabulary nor covered by byte fallback or an unknown token.</exception>
    public int[] Encode(ReadOnlySpan<byte> utf8Text, string sourceName)
    {
        if (!System.Text.Unicode.Utf8.IsValid(utf8Text))
            throw new InvalidTextException(sourceName, $"not UTF-8 at byte {FirstInvalidByte(utf8Text)}; {Kind} tokenizers read UTF-8 text");
        string text = Encoding.UTF8.GetString(utf8Text);
        return Encode(text, sourceName);
    }

    /// <summary>Token ids of <paramref name="text"/>.</summary>
    /// <exception cref="InvalidTextException">A character is neither in the vocabulary nor covered by byte fallback or an unknown token.</exception>
    public int[] Encode(string text, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0) return [];
        if (Kind == TokenizerKind.ByteLevelBpe) return [.. _bpe.EncodeToIds(text)];

        // SentencePiece-style: normalize (prepend ▁, spaces → ▁), then BPE over runs of characters the vocabulary has;
        // a character outside it cannot take part in any merge, so splitting there is exact, and it becomes byte tokens.
        string normalized = (_prepend ?? "") + text;
        foreach (var (from, to) in _replacements) normalized = normalized.Replace(from, to, StringComparison.Ordinal);
        var ids = new List<int>(normalized.Length);
        int runStart = 0;
        var utf8 = new byte[4];
        for (int i = 0; i < normalized.Length;)
        {
            var rune = Rune.GetRuneAt(normalized, i);
            int width = rune.Utf16SequenceLength;
            if (!_vocabulary.ContainsKey(normalized.Substring(i, width)))
            {
                if (i > runStart) ids.AddRange(_bpe.EncodeToIds(normalized.AsSpan(runStart, i - runStart), considerPreTokenization: false, considerNormalization: false));
                if (_byteFallback.Length == 256)
                {
                    int n = rune.EncodeToUtf8(utf8);
                    for (int b = 0; b < n; b++) ids.Add(_byteFallback[utf8[b]]);
                }
                else if (_unknownId is int unk) ids.Add(unk);
                else throw new InvalidTextException(sourceName, $"character U+{rune.Value:X4} at UTF-16 offset {i} is not in the vocabulary of {Source}, which has no byte fallback or unk_token");
                runStart = i + width;
            }
            i += width;
        }
        if (normalized.Length > runStart) ids.AddRange(_bpe.EncodeToIds(normalized.AsSpan(runStart), considerPreTokenization: false, considerNormalization: false));
        return [.. ids];
    }

    /// <summary>How many bytes of text token <paramref name="id"/> stands for (its UTF-8 length; ▁ counts as the space it replaces).</summary>
    public int ByteLength(int id) => (uint)id < (uint)_tokenByteLengths.Length ? _tokenByteLengths[id] : 0;

    private static long FirstInvalidByte(ReadOnlySpan<byte> bytes)
    {
        long offset = 0;
        while (!bytes.IsEmpty && Rune.DecodeFromUtf8(bytes, out _, out int consumed) == System.Buffers.OperationStatus.Done)
        {
            bytes = bytes[consumed..];
            offset += consumed;
        }
        return offset;
    }

    private static HuggingFaceTokenizer Parse(JsonElement root, string path)
    {
        if (!ModelJson.TryGet(root, "model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new InvalidModelConfigException(path, "model", "is required and must be an object");
        string type = ModelJson.String(model, path, "type") ?? (ModelJson.TryGet(model, "merges", out _) ? "BPE" : "?");
        if (type != "BPE") throw new UnsupportedModelException(path, "model.type", ModelJson.Truncate(type), "BPE (byte-level or SentencePiece-style)");
        if (ModelJson.TryGet(model, "dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() != 0)
            throw new UnsupportedModelException(path, "model.dropout", dropout.GetRawText(), "null or 0 (BPE dropout is random)");
        foreach (string key in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (!string.IsNullOrEmpty(ModelJson.String(model, path, key)))
                throw new UnsupportedModelException(path, "model." + key, ModelJson.Truncate(ModelJson.String(model, path, key)), "null");

        var vocabulary = ReadVocabulary(model, path);
        int size = vocabulary.Count == 0 ? 0 : vocabulary.Values.Max() + 1;
        var special = ReadAddedTokens(root, path, ref size);
        var merges = ReadMerges(model, path, vocabulary);

        var (preTokenizer, byteLevel) = ReadPreTokenizer(root, path);
        var (prepend, replacements) = ReadNormalizer(root, path);
        bool byteFallback = ModelJson.Bool(model, path, "byte_fallback", false);
        string? unknown = ModelJson.String(model, path, "unk_token");
        int? unknownId = null;
        if (unknown is not null)
            unknownId = vocabulary.TryGetValue(unknown, out int u) ? u : throw new InvalidModelConfigException(path, "model.unk_token", $"'{ModelJson.Truncate(unknown)}' is not in the vocabulary");

        if (byteLevel)
        {
            if (prepend is not null || replacements.Length > 0)
                throw new UnsupportedModelException(path, "normalizer", "Prepend/Replace with a ByteLevel pre-tokenizer", "null normalizer for byte-level BPE");
            var options = new BpeOptions(vocabulary)
            {
                ByteLevel = true,
                Merges = merges,
                PreTokenizer = preTokenizer is null ? null : new RegexPreTokenizer(new Regex(preTokenizer, RegexOptions.Compiled, TimeSpan.FromSeconds(10)), special.Count == 0 ? null : special),
                SpecialTokens = special.Count == 0 ? null : special,
            };
            var bpe = Create(options, path);
            return new HuggingFaceTokenizer(path, TokenizerKind.ByteLevelBpe, bpe, vocabulary, size, [], null, null, []);
        }

        if (preTokenizer is not null)
            throw new UnsupportedModelException(path, "pre_tokenizer", "Split without ByteLevel", "ByteLevel, Split + ByteLevel, Metaspace or null");
        var fallback = new int[byteFallback ? 256 : 0];
        for (int b = 0; b < fallback.Length; b++)
            fallback[b] = vocabulary.TryGetValue($"<0x{b:X2}>", out int id) ? id
                : throw new InvalidModelConfigException(path, "model.byte_fallback", $"is true but the vocabulary has no <0x{b:X2}> token");
        var spOptions = new BpeOptions(vocabulary) { Merges = merges, SpecialTokens = special.Count == 0 ? null : special };
        return new HuggingFaceTokenizer(path, TokenizerKind.SentencePieceBpe, Create(spOptions, path), vocabulary, size, fallback, unknownId, prepend, replacements);
    }

    private static Tokenizer Create(BpeOptions options, string path)
    {
        try
        {
            return BpeTokenizer.Create(options);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw new InvalidModelConfigException(path, "model", $"Microsoft.ML.Tokenizers rejected the BPE model: {e.Message.Split('\n')[0]}", e);
        }
    }

    private static Dictionary<string, int> ReadVocabulary(JsonElement model, string path)
    {
        if (!ModelJson.TryGet(model, "vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw new InvalidModelConfigException(path, "model.vocab", "is required and must be an object of token → id");
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        var seen = new HashSet<int>();
        foreach (var entry in vocab.EnumerateObject())
        {
            if (result.Count >= MaxVocabularySize) throw new InvalidModelConfigException(path, "model.vocab", $"has more than {MaxVocabularySize} tokens");
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0 || id >= MaxVocabularySize)
                throw new InvalidModelConfigException(path, "model.vocab", $"token '{ModelJson.Truncate(entry.Name)}' has id {ModelJson.Truncate(entry.Value.GetRawText())}, not an integer in [0, {MaxVocabularySize})");
            if (entry.Name.Length == 0) throw new InvalidModelConfigException(path, "model.vocab", $"id {id} is the empty string");
            if (!result.TryAdd(entry.Name, id)) throw new InvalidModelConfigException(path, "model.vocab", $"token '{ModelJson.Truncate(entry.Name)}' appears twice");
            if (!seen.Add(id)) throw new InvalidModelConfigException(path, "model.vocab", $"id {id} is given to two tokens (one is '{ModelJson.Truncate(entry.Name)}')");
        }
        if (result.Count == 0) throw new InvalidModelConfigException(path, "model.vocab", "is empty");
        return result;
    }

    private static Dictionary<string, int> ReadAddedTokens(JsonElement root, string path, ref int size)
    {
        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        if (!ModelJson.TryGet(root, "added_tokens", out var added)) return special;
        if (added.ValueKind != JsonValueKind.Array) throw new InvalidModelConfigException(path, "added_tokens", "must be an array");
        foreach (var token in added.EnumerateArray())
        {
            int id = ModelJson.Int(token, path, "id", null, 0, MaxVocabularySize - 1, label: "added_tokens[].id");
            string content = ModelJson.String(token, path, "content") is { Length: > 0 } c ? c
                : throw new InvalidModelConfigException(path, "added_tokens[].content", $"token {id} has no content");
            special[content] = id;
            size = Math.Max(size, id + 1);
        }
        return special;
    }

    private static List<string> ReadMerges(JsonElement model, string path, Dictionary<string, int> vocabulary)
    {
        var merges = new List<string>();
        if (!ModelJson.TryGet(model, "merges", out var array)) return merges;
        if (array.ValueKind != JsonValueKind.Array) throw new InvalidModelConfigException(path, "model.merges", "must be an array");
        int index = 0;
        foreach (var merge in array.EnumerateArray())
        {
            // Two spellings: "a b" (tokenizers < 0.20) and ["a", "b"].
            string? left, right;
            if (merge.ValueKind == JsonValueKind.String)
            {
                string s = merge.GetString()!;
                int space = s.IndexOf(' ', StringComparison.Ordinal);
                (left, right) = space > 0 && space < s.Length - 1 && s.IndexOf(' ', space + 1) < 0 ? (s[..space], s[(space + 1)..]) : (null, null);
            }
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2 && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
                (left, right) = (merge[0].GetString(), merge[1].GetString());
            else (left, right) = (null, null);
            if (string.IsNullOrEmpty(left) || string.IsNullOrEmpty(right) || left.Contains(' ') || right.Contains(' '))
                throw new InvalidModelConfigException(path, "model.merges", $"entry {index} ({ModelJson.Truncate(merge.GetRawText())}) is not a pair of tokens");
            if (!vocabulary.ContainsKey(left) || !vocabulary.ContainsKey(right) || !vocabulary.ContainsKey(left + right))
                throw new InvalidModelConfigException(path, "model.merges", $"entry {index} ({ModelJson.Truncate(left + " " + right)}) uses or makes a token missing from the vocabulary");
            merges.Add(left + " " + right);
            index++;
        }
        return merges;
    }

    /// <summary>The split pattern (null: no split) and whether the model is byte-level.</summary>
    private static (string? Pattern, bool ByteLevel) ReadPreTokenizer(JsonElement root, string path)
    {
        if (!ModelJson.TryGet(root, "pre_tokenizer", out var pre)) return (null, false);
        string? pattern = null;
        bool byteLevel = false, metaspace = false;
        void Visit(JsonElement node, int depth)
        {
            string type = ModelJson.String(node, path, "type") ?? throw new InvalidModelConfigException(path, "pre_tokenizer.type", "is required");
            switch (type)
            {
                case "Sequence":
                    if (!ModelJson.TryGet(node, "pretokenizers", out var list) || list.ValueKind != JsonValueKind.Array)
                        throw new InvalidModelConfigException(path, "pre_tokenizer.pretokenizers", "must be an array");
                    foreach (var child in list.EnumerateArray()) Visit(child, depth + 1);
                    break;
                case "ByteLevel":
                    byteLevel = true;
                    if (ModelJson.Bool(node, path, "add_prefix_space", false))
                        throw new UnsupportedModelException(path, "pre_tokenizer.add_prefix_space", "true", "false");
                    if (ModelJson.Bool(node, path, "use_regex", true))
                        pattern = pattern is null ? Gpt2Pattern : throw new UnsupportedModelException(path, "pre_tokenizer", "two split patterns", "one Split or ByteLevel(use_regex) pattern");
                    break;
                case "Split":
                    string behavior = ModelJson.String(node, path, "behavior") ?? "Isolated";
                    if (behavior != "Isolated") throw new UnsupportedModelException(path, "pre_tokenizer.behavior", behavior, "Isolated");
                    if (ModelJson.Bool(node, path, "invert", false)) throw new UnsupportedModelException(path, "pre_tokenizer.invert", "true", "false");
                    if (!ModelJson.TryGet(node, "pattern", out var p) || !ModelJson.TryGet(p, "Regex", out var regex) || regex.ValueKind != JsonValueKind.String)
                        throw new UnsupportedModelException(path, "pre_tokenizer.pattern", "non-Regex", "{\"Regex\": …}");
                    string text = regex.GetString()!;
                    try { _ = new Regex(text, RegexOptions.None, TimeSpan.FromSeconds(1)); }
                    catch (ArgumentException e) { throw new InvalidModelConfigException(path, "pre_tokenizer.pattern", $"is not a valid regular expression: {e.Message}", e); }
                    pattern = pattern is null ? text : throw new UnsupportedModelException(path, "pre_tokenizer", "two split patterns", "one Split or ByteLevel(use_regex) pattern");
                    break;
                case "Metaspace":
                    metaspace = true;
                    break;
                default:
                    throw new UnsupportedModelException(path, "pre_tokenizer.type", ModelJson.Truncate(type), "ByteLevel, Split (Regex, Isolated), Metaspace, Sequence");
            }
        }
        Visit(pre, 0);
        if (metaspace && (byteLevel || pattern is not null))
            throw new UnsupportedModelException(path, "pre_tokenizer", "Metaspace mixed with ByteLevel or Split", "one style");
        return (pattern, byteLevel);
    }

    /// <summary>SentencePiece-style normalization as Prepend and Replace steps (Metaspace pre-tokenizers are read the same way).</summary>
    private static (string? Prepend, (string, string)[] Replacements) ReadNormalizer(JsonElement root, string path)
    {
        string? prepend = null;
        var replacements = new List<(string, string)>();
        if (ModelJson.TryGet(root, "pre_tokenizer", out var pre) && ModelJson.String(pre, path, "type") == "Metaspace")
        {
            string replacement = ModelJson.String(pre, path, "replacement") ?? SentencePieceSpace.ToString();
            string scheme = ModelJson.String(pre, path, "prepend_scheme") ?? (ModelJson.Bool(pre, path, "add_prefix_space", true) ? "always" : "never");
            if (scheme is not ("always" or "first" or "never")) throw new UnsupportedModelException(path, "pre_tokenizer.prepend_scheme", scheme, "always, first, never");
            if (scheme != "never") prepend = replacement;
            replacements.Add((" ", replacement));
            if (ModelJson.Bool(pre, path, "split", false))
                throw new UnsupportedModelException(path, "pre_tokenizer.split", "true", "false (Metaspace splitting is not implemented)");
        }
        if (!ModelJson.TryGet(root, "normalizer", out var normalizer)) return (prepend, [.. replacements]);
        void Visit(JsonElement node)
        {
            string type = ModelJson.String(node, path, "type") ?? throw new InvalidModelConfigException(path, "normalizer.type", "is required");
            switch (type)
            {
                case "Sequence":
                    if (!ModelJson.TryGet(node, "normalizers", out var list) || list.ValueKind != JsonValueKind.Array)
                        throw new InvalidModelConfigException(path, "normalizer.normalizers", "must be an array");
                    foreach (var child in list.EnumerateArray()) Visit(child);
                    break;
                case "Prepend":
                    prepend = (prepend ?? "") + (ModelJson.String(node, path, "prepend") ?? throw new InvalidModelConfigException(path, "normalizer.prepend", "is required"));
                    break;
                case "Replace":
                    if (!ModelJson.TryGet(node, "pattern", out var p) || !ModelJson.TryGet(p, "String", out var from) || from.ValueKind != JsonValueKind.String || from.GetString()!.Length == 0)
                        throw new UnsupportedModelException(path, "normalizer.pattern", "non-String", "{\"String\": …}");
                    replacements.Add((from.GetString()!, ModelJson.String(node, path, "content") ?? ""));
                    break;
                default:
                    throw new UnsupportedModelException(path, "normalizer.type", ModelJson.Truncate(type), "Prepend, Replace (String), Sequence, null");
            }
        }
        Visit(normalizer);
        return (prepend, [.. replacements]);
    }

    private static int[] TokenByteLengths(TokenizerKind kind, Dictionary<string, int> vocabulary, int size)
    {
        var lengths = new int[size];
        foreach (var (token, id) in vocabulary)
        {
            if (kind == TokenizerKind.ByteLevelBpe) lengths[id] = token.Length;   // one character of GPT-2's byte alphabet per byte
            else if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>') lengths[id] = 1;
            else lengths[id] = Encoding.UTF8.GetByteCount(token.Replace(SentencePieceSpace, ' '));
        }
        return lengths;
    }
}

/// <summary>The tokenizer.json styles <see cref="HuggingFaceTokenizer"/> implements.</summary>
public enum TokenizerKind
{
    /// <summary>Byte-level BPE (GPT-2, Llama 3, Qwen2): text → UTF-8 bytes → GPT-2's byte alphabet → BPE.</summary>
    ByteLevelBpe,
    /// <summary>SentencePiece-style BPE in tokenizer.json (Llama 2, Mistral): ▁ for spaces, byte fallback.</summary>
    SentencePieceBpe,
}
