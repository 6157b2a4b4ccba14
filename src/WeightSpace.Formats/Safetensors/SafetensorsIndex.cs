using System.Text.Unicode;

namespace WeightSpace.Formats.Safetensors;

/// <summary>A parsed <c>model.safetensors.index.json</c>: which shard holds each tensor, plus its metadata.</summary>
/// <remarks>Shard names are checked to stay inside the index's folder before any of them is opened.</remarks>
internal sealed class SafetensorsIndex
{
    private SafetensorsIndex(string path, Dictionary<string, string> weightMap, Dictionary<string, string> metadata, List<string> shards)
    {
        Path = path;
        WeightMap = weightMap;
        Metadata = metadata;
        Shards = shards;
    }

    public string Path { get; }

    /// <summary>Tensor name → shard file name (relative to the index's folder).</summary>
    public Dictionary<string, string> WeightMap { get; }

    /// <summary>The index's <c>metadata</c> object, values stringified (strings as they are, anything else as its JSON text).</summary>
    public Dictionary<string, string> Metadata { get; }

    /// <summary>Distinct shard file names in ordinal order (model-00001-of-… first).</summary>
    public List<string> Shards { get; }

    public static SafetensorsIndex Read(string path, SafetensorsOptions options)
    {
        byte[] json;
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long length = RandomAccess.GetLength(handle);
            if (length > options.MaxHeaderBytes)
                throw SafetensorsHeader.Error(path, null, $"index has {length} bytes, more than MaxHeaderBytes ({options.MaxHeaderBytes})");
            json = new byte[length];
            int done = 0;
            while (done < json.Length)
            {
                int n = RandomAccess.Read(handle, json.AsSpan(done), done);
                if (n == 0) throw SafetensorsHeader.Error(path, null, $"index ends at byte {done} of {length}");
                done += n;
            }
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw SafetensorsHeader.Error(path, null, $"cannot be read: {e.Message}", e);
        }
        return Parse(path, json, options);
    }

    internal static SafetensorsIndex Parse(string path, ReadOnlySpan<byte> json, SafetensorsOptions options)
    {
        // Index files are hand-edited now and then; editors on Windows prepend a UTF-8 BOM, which JSON forbids.
        if (json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) json = json[3..];
        if (!Utf8.IsValid(json)) throw SafetensorsHeader.Error(path, null, "index is not valid UTF-8");
        var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        bool sawWeightMap = false;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = options.MaxJsonDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw SafetensorsHeader.Error(path, null, "index is not a JSON object");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string key = reader.GetString()!;
                reader.Read();
                if (key == "weight_map")
                {
                    if (sawWeightMap) throw SafetensorsHeader.Error(path, null, "index has two weight_map objects");
                    sawWeightMap = true;
                    ReadWeightMap(ref reader, path, weightMap);
                }
                else if (key == "metadata" && reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadMetadata(ref reader, json, metadata);
                }
                else
                {
                    reader.Skip();
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
                throw SafetensorsHeader.Error(path, null, "index is not a single JSON object");
        }
        catch (JsonException e)
        {
            string detail = e.Message.Contains("depth", StringComparison.OrdinalIgnoreCase)
                ? $"index JSON nests deeper than MaxJsonDepth ({options.MaxJsonDepth})"
                : $"index is not valid JSON ({e.Message})";
            throw SafetensorsHeader.Error(path, null, detail, e);
        }
        catch (InvalidOperationException e)
        {
            throw SafetensorsHeader.Error(path, null, $"index is malformed ({e.Message})", e);
        }
        if (!sawWeightMap) throw SafetensorsHeader.Error(path, null, "index has no weight_map");

        var shards = weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        string folder = System.IO.Path.GetFullPath(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        foreach (string shard in shards) CheckShardName(path, folder, shard, weightMap);
        return new SafetensorsIndex(path, weightMap, metadata, shards);
    }

    /// <summary>Full path of <paramref name="shard"/>, next to the index.</summary>
    public string ShardPath(string shard) =>
        System.IO.Path.GetFullPath(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!, shard));

    // A shard name is a path relative to the index's folder that must not leave it: otherwise an index downloaded
    // with a model could make the reader open any file on the machine.
    private static void CheckShardName(string path, string folder, string shard, Dictionary<string, string> weightMap)
    {
        string tensor = weightMap.First(kv => kv.Value == shard).Key;
        if (shard.Length == 0 || shard.Contains('\0'))
            throw SafetensorsHeader.Error(path, tensor, $"shard name '{shard}' is empty or contains NUL");
        if (System.IO.Path.IsPathRooted(shard) || shard.StartsWith('/') || shard.StartsWith('\\'))
            throw SafetensorsHeader.Error(path, tensor, $"shard name '{shard}' is a rooted path; shards must sit beside the index");
        if (shard.Split('/', '\\').Any(part => part == ".."))
            throw SafetensorsHeader.Error(path, tensor, $"shard name '{shard}' contains '..'; shards must sit beside the index");
        string full = System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, shard));
        string prefix = folder.EndsWith(System.IO.Path.DirectorySeparatorChar) ? folder : folder + System.IO.Path.DirectorySeparatorChar;
        if (!full.StartsWith(prefix, StringComparison.Ordinal))
            throw SafetensorsHeader.Error(path, tensor, $"shard name '{shard}' resolves outside the index's folder");
    }

    private static void ReadWeightMap(ref Utf8JsonReader reader, string path, Dictionary<string, string> weightMap)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw SafetensorsHeader.Error(path, null, "weight_map must be an object of tensor name to shard file");
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string name = reader.GetString()!;
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
                throw SafetensorsHeader.Error(path, name, "weight_map value must be a shard file name (string)");
            string shard = reader.GetString()!;
            if (!weightMap.TryAdd(name, shard))
                throw SafetensorsHeader.Error(path, name, $"weight_map lists the tensor twice ('{weightMap[name]}' and '{shard}')");
        }
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, Dictionary<string, string> metadata)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            reader.Read();
            string value;
            if (reader.TokenType == JsonTokenType.String)
            {
                value = reader.GetString()!;
            }
            else
            {
                long start = reader.TokenStartIndex;
                reader.Skip();
                long end = reader.BytesConsumed;
                value = Encoding.UTF8.GetString(json[(int)start..(int)end]);
            }
            metadata[key] = value;
        }
    }
}
