using WeightSpace.Analysis.Language;
using WeightSpace.Formats.Gguf;

namespace WeightSpace.Analysis.Neurons;

/// <summary>The text of each token id of a Hugging Face <c>tokenizer.json</c>, for showing decoded neurons: the bytes a
/// token stands for, printed readably (<see cref="Display"/>).</summary>
/// <remarks>Byte-level BPE vocabularies (GPT-2, Llama 3, Qwen2) spell each byte as one character of GPT-2's
/// <c>bytes_to_unicode</c> alphabet; they are mapped back to bytes. SentencePiece vocabularies spell a space as ▁ and
/// raw bytes as <c>&lt;0xXX&gt;</c>. Added (special) tokens are shown as their content.</remarks>
public sealed class TokenVocabulary
{
    private readonly byte[]?[] _bytes;
    private readonly string?[] _special;

    private TokenVocabulary(byte[]?[] bytes, string?[] special)
    {
        _bytes = bytes;
        _special = special;
    }

    /// <summary>One more than the largest token id.</summary>
    public int Count => _bytes.Length;

    /// <summary>Reads <paramref name="path"/> (a tokenizer.json or a folder holding one).</summary>
    /// <exception cref="FileNotFoundException">There is no tokenizer.json.</exception>
    /// <exception cref="InvalidModelConfigException">The file is malformed (no model.vocab object, ids out of range).</exception>
    public static TokenVocabulary Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path)) path = Path.Combine(path, "tokenizer.json");
        using var document = ModelJson.Load(path, HuggingFaceTokenizer.MaxFileBytes, maxDepth: 32);
        return ModelJson.Guard(path, () => Parse(document.RootElement, path));
    }

    /// <summary>The tokenizer of a model: for a GGUF file its <c>tokenizer.ggml.*</c> metadata (read as the tokenizer.json
    /// <c>convert model.gguf DIR/</c> writes), else the tokenizer.json beside the model folder or weights file; null when
    /// there is none (or a GGUF's tokenizer model is one WeightSpace does not map).</summary>
    /// <exception cref="InvalidGgufException">A GGUF's token list is malformed.</exception>
    public static TokenVocabulary? TryLoadBeside(string modelPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        if (GgufModelConfig.IsGguf(modelPath))
        {
            using var store = GgufReader.Open(modelPath);
            return FromGguf(store);
        }
        string folder = File.Exists(modelPath) ? Path.GetDirectoryName(Path.GetFullPath(modelPath))! : modelPath;
        string file = Path.Combine(folder, "tokenizer.json");
        return File.Exists(file) ? Load(file) : null;
    }

    private static TokenVocabulary? FromGguf(GgufStore store)
    {
        if (GgufHfExport.TokenizerJsonOf(store, out _) is not { } json) return null;
        string label = $"{store.Path} (tokenizer.ggml.* metadata)";
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 32 });
        return ModelJson.Guard(label, () => Parse(document.RootElement, label));
    }

    /// <summary>A vocabulary where token id b is the single byte b (byte-level models without a tokenizer.json).</summary>
    public static TokenVocabulary Bytes(int count = 256)
    {
        var bytes = new byte[]?[count];
        for (int b = 0; b < Math.Min(256, count); b++) bytes[b] = [(byte)b];
        return new TokenVocabulary(bytes, new string?[count]);
    }

    /// <summary>The bytes token <paramref name="id"/> stands for; empty for unknown ids and special tokens.</summary>
    public ReadOnlySpan<byte> TokenBytes(int id) => (uint)id < (uint)_bytes.Length ? _bytes[id] : default;

    /// <summary>Token <paramref name="id"/> as printable text: printable characters as they are, <c>\n</c> <c>\t</c>
    /// <c>\r</c> <c>\\</c> escaped, other control characters and bytes that are not UTF-8 as <c>\xNN</c>; special tokens
    /// as their content; ids outside the vocabulary as <c>#id</c>.</summary>
    public string Display(int id)
    {
        if ((uint)id >= (uint)_bytes.Length) return "#" + id.ToString(CultureInfo.InvariantCulture);
        if (_special[id] is { } special) return special;
        return _bytes[id] is { } bytes ? Escape(bytes) : "#" + id.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Bytes as printable text (see <see cref="Display"/>).</summary>
    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length + 2);
        while (!bytes.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(bytes, out var rune, out int consumed) != System.Buffers.OperationStatus.Done)
            {
                text.Append(CultureInfo.InvariantCulture, $"\\x{bytes[0]:x2}");
                bytes = bytes[1..];
                continue;
            }
            switch (rune.Value)
            {
                case '\n': text.Append("\\n"); break;
                case '\t': text.Append("\\t"); break;
                case '\r': text.Append("\\r"); break;
                case '\\': text.Append("\\\\"); break;
                default:
                    if (Rune.IsControl(rune) || rune.Value is 0x2028 or 0x2029 or 0xFEFF)
                    {
                        foreach (byte b in bytes[..consumed]) text.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
                    }
                    else text.Append(rune.ToString());
                    break;
            }
            bytes = bytes[consumed..];
        }
        return text.ToString();
    }

    private static TokenVocabulary Parse(JsonElement root, string path)
    {
        if (!ModelJson.TryGet(root, "model", out var model) || model.ValueKind != JsonValueKind.Object ||
            !ModelJson.TryGet(model, "vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw new InvalidModelConfigException(path, "model.vocab", "is required and must be an object of token → id");
        bool byteLevel = ModelJson.TryGet(root, "pre_tokenizer", out var pre) && pre.GetRawText().Contains("\"ByteLevel\"", StringComparison.Ordinal)
            || ModelJson.TryGet(root, "decoder", out var decoder) && decoder.GetRawText().Contains("\"ByteLevel\"", StringComparison.Ordinal);
        var entries = new List<(string Token, int Id)>();
        int size = 0;
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entries.Count >= HuggingFaceTokenizer.MaxVocabularySize)
                throw new InvalidModelConfigException(path, "model.vocab", $"has more than {HuggingFaceTokenizer.MaxVocabularySize} tokens");
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0 || id >= HuggingFaceTokenizer.MaxVocabularySize)
                throw new InvalidModelConfigException(path, "model.vocab", $"token '{ModelJson.Truncate(entry.Name)}' has id {ModelJson.Truncate(entry.Value.GetRawText())}, not an integer in [0, {HuggingFaceTokenizer.MaxVocabularySize})");
            entries.Add((entry.Name, id));
            size = Math.Max(size, id + 1);
        }
        var added = new List<(string Content, int Id)>();
        if (ModelJson.TryGet(root, "added_tokens", out var list) && list.ValueKind == JsonValueKind.Array)
            foreach (var token in list.EnumerateArray())
            {
                int id = ModelJson.Int(token, path, "id", null, 0, HuggingFaceTokenizer.MaxVocabularySize - 1, label: "added_tokens[].id");
                if (ModelJson.String(token, path, "content") is { Length: > 0 } content) added.Add((content, id));
                size = Math.Max(size, id + 1);
            }
        var bytes = new byte[]?[size];
        var special = new string?[size];
        var alphabet = byteLevel ? ByteLevelAlphabet() : null;
        foreach (var (token, id) in entries) bytes[id] = alphabet is null ? SentencePieceBytes(token) : ByteLevelBytes(token, alphabet);
        foreach (var (content, id) in added) special[id] = content;
        return new TokenVocabulary(bytes, special);
    }

    private static byte[] ByteLevelBytes(string token, Dictionary<char, byte> alphabet)
    {
        var result = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            // A character outside the byte alphabet (a hand-edited vocabulary) keeps its own UTF-8.
            if (!alphabet.TryGetValue(token[i], out result[i])) return Encoding.UTF8.GetBytes(token);
        }
        return result;
    }

    private static byte[] SentencePieceBytes(string token)
    {
        if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>' &&
            byte.TryParse(token.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out byte b))
            return [b];
        return Encoding.UTF8.GetBytes(token.Replace('\u2581', ' '));
    }

    /// <summary>GPT-2's <c>bytes_to_unicode</c>: printable Latin-1 bytes stand for themselves, the other 68 map to U+0100…</summary>
    private static Dictionary<char, byte> ByteLevelAlphabet()
    {
        var map = new Dictionary<char, byte>(256);
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[printable ? (char)b : (char)(256 + next++)] = (byte)b;
        }
        return map;
    }
}
