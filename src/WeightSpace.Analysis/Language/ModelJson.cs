namespace WeightSpace.Analysis.Language;

/// <summary>Reads the JSON files of a Hugging Face model folder as untrusted input: a size limit before anything is
/// read, a small nesting depth, and typed, range-checked getters whose errors name the file and key.</summary>
internal static class ModelJson
{
    /// <summary>Reads and parses <paramref name="path"/>, refusing files over <paramref name="maxBytes"/>.</summary>
    public static JsonDocument Load(string path, long maxBytes, int maxDepth)
    {
        var file = new FileInfo(path);
        if (!file.Exists) throw new FileNotFoundException($"{path}: no such file", path);
        if (file.Length > maxBytes) throw new InvalidModelConfigException(path, null, $"file has {file.Length} bytes, more than the {maxBytes} accepted");
        return Parse(File.ReadAllBytes(path), path, maxDepth);
    }

    /// <summary>Parses <paramref name="utf8"/>; a JSON error becomes an <see cref="InvalidModelConfigException"/>.</summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> utf8, string path, int maxDepth)
    {
        // Strings are transcoded lazily; checking UTF-8 once here keeps every later GetString from throwing.
        if (!System.Text.Unicode.Utf8.IsValid(utf8.Span)) throw new InvalidModelConfigException(path, null, "is not UTF-8");
        try
        {
            var document = JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = maxDepth, AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
            var kind = document.RootElement.ValueKind;
            if (kind != JsonValueKind.Object)
            {
                document.Dispose();
                throw new InvalidModelConfigException(path, null, $"top level is a JSON {kind}, not an object");
            }
            return document;
        }
        catch (JsonException e)
        {
            throw new InvalidModelConfigException(path, null, $"not valid JSON ({e.Message.Split('\n')[0]})", e);
        }
    }

    /// <summary>The property <paramref name="key"/> if present and not JSON null.</summary>
    public static bool TryGet(JsonElement obj, string key, out JsonElement value)
    {
        if (obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(key, out value) && value.ValueKind != JsonValueKind.Null) return true;
        value = default;
        return false;
    }

    public static int Int(JsonElement obj, string path, string key, int? fallback, int min, int max, string? label = null)
    {
        string name = label ?? key;
        if (!TryGet(obj, key, out var v))
            return fallback ?? throw new InvalidModelConfigException(path, name, "is required");
        // HF writes some integers as 4096.0; accept integral doubles, refuse fractions.
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d) || d != Math.Floor(d))
            throw new InvalidModelConfigException(path, name, $"{v.GetRawText()} is not an integer");
        if (d < min || d > max) throw new InvalidModelConfigException(path, name, $"{v.GetRawText()} is outside [{min}, {max}]");
        return (int)d;
    }

    public static double Double(JsonElement obj, string path, string key, double fallback, double min, double max)
    {
        if (!TryGet(obj, key, out var v)) return fallback;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d) || !double.IsFinite(d))
            throw new InvalidModelConfigException(path, key, $"{v.GetRawText()} is not a finite number");
        if (d < min || d > max) throw new InvalidModelConfigException(path, key, $"{v.GetRawText()} is outside [{min}, {max}]");
        return d;
    }

    public static bool Bool(JsonElement obj, string path, string key, bool fallback)
    {
        if (!TryGet(obj, key, out var v)) return fallback;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new InvalidModelConfigException(path, key, $"{Truncate(v.GetRawText())} is not true or false"),
        };
    }

    public static string? String(JsonElement obj, string path, string key)
    {
        if (!TryGet(obj, key, out var v)) return null;
        if (v.ValueKind != JsonValueKind.String) throw new InvalidModelConfigException(path, key, $"{Truncate(v.GetRawText())} is not a string");
        return v.GetString();
    }

    /// <summary>Runs a parser over a parsed document, turning the JSON API's low-level errors (a lone surrogate in
    /// an escape, a value of an unexpected kind deep in a structure) into one typed error naming the file.</summary>
    public static T Guard<T>(string path, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException and not ArgumentNullException)
        {
            throw new InvalidModelConfigException(path, null, $"malformed content ({e.Message.Split('\n')[0]})", e);
        }
    }

    /// <summary>A value for an error message: long values are cut so the message stays one readable line.</summary>
    public static string Truncate(string? text, int max = 60) =>
        text is null ? "null" : text.Length <= max ? text.ReplaceLineEndings(" ") : text[..max].ReplaceLineEndings(" ") + "…";
}
