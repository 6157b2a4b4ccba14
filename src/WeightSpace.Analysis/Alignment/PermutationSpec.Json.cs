namespace WeightSpace.Analysis.Alignment;

public sealed partial class PermutationSpec
{
    /// <summary>Largest spec file accepted, in bytes (16 MiB: a spec lists names, never values).</summary>
    public const int MaxJsonBytes = 16 << 20;

    /// <summary>Reads a spec from a JSON file: <c>{"axes": {"fc1.weight": ["P_fc1", null], "fc1.bias": ["P_fc1"], …}}</c>,
    /// one array per tensor with a group name or null per axis. An optional <c>"format": "weightspace.permutation-spec/1"</c> is checked.</summary>
    /// <exception cref="InvalidPermutationSpecException">The file is missing, too large, not JSON or not of that shape.</exception>
    public static PermutationSpec Load(string path)
    {
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw new InvalidPermutationSpecException(path, "file not found");
            if (info.Length > MaxJsonBytes) throw new InvalidPermutationSpecException(path, $"{info.Length} bytes exceeds the limit of {MaxJsonBytes}");
            bytes = File.ReadAllBytes(path);
        }
        catch (IOException e) { throw new InvalidPermutationSpecException(path, "cannot be read", e); }
        return Parse(bytes, path);
    }

    /// <summary>Parses a spec from UTF-8 JSON (schema as for <see cref="Load"/>).</summary>
    /// <exception cref="InvalidPermutationSpecException">The JSON is malformed or not of that shape.</exception>
    public static PermutationSpec Parse(ReadOnlySpan<byte> utf8Json, string source = "<json>")
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(utf8Json.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e) { throw new InvalidPermutationSpecException(source, $"not valid JSON: {e.Message}", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidPermutationSpecException(source, "the top level must be an object with \"axes\"");
            JsonElement? axesElement = null;
            foreach (var property in root.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "axes": axesElement = property.Value; break;
                    case "format":
                        if (property.Value.ValueKind != JsonValueKind.String || property.Value.GetString() != FormatName)
                            throw new InvalidPermutationSpecException(source, $"\"format\" must be \"{FormatName}\"");
                        break;
                    default: throw new InvalidPermutationSpecException(source, $"unknown key \"{property.Name}\" (expected \"axes\" and optionally \"format\")");
                }
            }
            if (axesElement is not JsonElement axes || axes.ValueKind != JsonValueKind.Object)
                throw new InvalidPermutationSpecException(source, "\"axes\" must be an object mapping tensor names to arrays");
            var entries = new List<KeyValuePair<string, IReadOnlyList<string?>>>();
            foreach (var tensor in axes.EnumerateObject())
            {
                if (tensor.Value.ValueKind != JsonValueKind.Array)
                    throw new InvalidPermutationSpecException(source, $"tensor '{tensor.Name}': expected an array of group names or null, got {tensor.Value.ValueKind}");
                var groups = new List<string?>();
                foreach (var g in tensor.Value.EnumerateArray())
                {
                    groups.Add(g.ValueKind switch
                    {
                        JsonValueKind.Null => null,
                        JsonValueKind.String => g.GetString(),
                        _ => throw new InvalidPermutationSpecException(source, $"tensor '{tensor.Name}' axis {groups.Count}: expected a group name or null, got {g.ValueKind}"),
                    });
                }
                entries.Add(new(tensor.Name, groups));
            }
            return new PermutationSpec(entries, source);
        }
    }

    /// <summary>The value of the optional <c>"format"</c> key.</summary>
    public const string FormatName = "weightspace.permutation-spec/1";

    /// <summary>Serialises the spec as indented UTF-8 JSON that <see cref="Parse"/> reads back.</summary>
    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", FormatName);
            w.WriteStartObject("axes");
            foreach (string tensor in Tensors)
            {
                w.WriteStartArray(tensor);
                foreach (string? g in _axes[tensor])
                {
                    if (g is null) w.WriteNullValue();
                    else w.WriteStringValue(g);
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
