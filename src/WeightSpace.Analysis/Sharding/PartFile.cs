using System.Reflection;

namespace WeightSpace.Analysis.Sharding;

/// <summary>The partial result of one shard of a per-tensor analysis: which run it belongs to (tool version, verb,
/// models, options, shard count) and one JSON object per work item it computed, keyed by the item's name.</summary>
/// <remarks>Written atomically (temp file, fsync, rename, fsync of the folder), so a part that exists is complete: a job array task that was
/// killed leaves no part, and a resubmission redoes exactly that shard.</remarks>
public sealed record PartFile
{
    /// <summary>The format's version; a part of another version is refused by <see cref="PartCombiner"/>.</summary>
    public const int FormatVersion = 1;

    /// <summary>The WeightSpace version that wrote the part.</summary>
    public required string ToolVersion { get; init; }

    /// <summary>The analysis (<c>spectrum</c>, …).</summary>
    public required string Verb { get; init; }

    /// <summary>Fingerprints of the analysed models (see <see cref="ModelFingerprint"/>), in argument order.</summary>
    public required IReadOnlyList<string> Models { get; init; }

    /// <summary>The analysis options in a canonical form: parts with different options cannot be combined.</summary>
    public required string Options { get; init; }

    /// <summary>Which shard this part is.</summary>
    public required ShardSpec Shard { get; init; }

    /// <summary>Every work item of the whole run in the single-run order, so a combine restores that order.</summary>
    public required IReadOnlyList<string> AllItems { get; init; }

    /// <summary>This shard's results, by item name.</summary>
    public required IReadOnlyDictionary<string, JsonNode> Items { get; init; }

    /// <summary>What every shard of the run derives identically from the models beyond the item list (e.g. the paths a
    /// report names, mismatches left out, a plan made before the split), or null; parts with different contexts are
    /// refused by <see cref="PartCombiner"/>.</summary>
    public JsonObject? Context { get; init; }

    /// <summary>A file written beside the part that holds this shard's bulk results (tensors), or null.</summary>
    public PartAttachment? Attachment { get; init; }

    /// <summary>Host and timings: informative only, never compared.</summary>
    public JsonObject? Provenance { get; init; }

    /// <summary>The version of this WeightSpace, as parts record it.</summary>
    public static string CurrentToolVersion { get; } =
        typeof(PartFile).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>A part of this WeightSpace version for one shard of a run over <paramref name="models"/> (fingerprinted
    /// in the given order), with the provenance of a shard started at <paramref name="startedUtc"/>.</summary>
    /// <param name="verb">The analysis (<c>spectrum</c>, <c>diff</c>, …).</param>
    /// <param name="models">The run's models, in the order the combine checks them.</param>
    /// <param name="options">The options that change the result, canonical.</param>
    /// <param name="shard">This shard.</param>
    /// <param name="allItems">Every work item of the whole run, in run order.</param>
    /// <param name="items">This shard's results by item.</param>
    /// <param name="startedUtc">When the shard started.</param>
    /// <param name="provenancePath">The model path named in the provenance.</param>
    /// <param name="context">Run-wide facts the combine needs, or null.</param>
    /// <param name="attachment">A file written beside the part, or null.</param>
    public static PartFile Create(string verb, IEnumerable<TensorStore> models, string options, ShardSpec shard, IEnumerable<string> allItems,
        IReadOnlyDictionary<string, JsonNode> items, DateTime startedUtc, string provenancePath, JsonObject? context = null, PartAttachment? attachment = null) => new()
    {
        ToolVersion = CurrentToolVersion,
        Verb = verb,
        Models = [.. models.Select(m => ModelFingerprint.Of(m.Path, m))],
        Options = options,
        Shard = shard,
        AllItems = [.. allItems],
        Items = items,
        Context = context,
        Attachment = attachment,
        Provenance = ProvenanceOf(startedUtc, provenancePath),
    };

    /// <summary>The informative provenance of a shard started at <paramref name="startedUtc"/> on <paramref name="path"/>.</summary>
    public static JsonObject ProvenanceOf(DateTime startedUtc, string path) => new()
    {
        ["host"] = Environment.MachineName,
        ["started_utc"] = startedUtc.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        ["seconds"] = Math.Round((DateTime.UtcNow - startedUtc).TotalSeconds, 3),
        ["path"] = path,
    };

    /// <summary>Writes the part atomically.</summary>
    public void Write(string path)
    {
        var root = new JsonObject
        {
            ["weightspace_part"] = FormatVersion,
            ["tool_version"] = ToolVersion,
            ["verb"] = Verb,
            ["models"] = new JsonArray(Models.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray()),
            ["options"] = Options,
            ["shard"] = new JsonObject { ["number"] = Shard.Number, ["count"] = Shard.Count },
            ["all_items"] = new JsonArray(AllItems.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray()),
            ["items"] = new JsonObject(Items.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value.DeepClone()))),
        };
        if (Context is not null) root["context"] = Context.DeepClone();
        if (Attachment is { } a) root["attachment"] = new JsonObject { ["file"] = a.FileName, ["sha256"] = a.Sha256 };
        if (Provenance is not null) root["provenance"] = Provenance.DeepClone();
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        WeightSpace.IO.AtomicFile.Write(path, stream =>
        {
            using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false });
            root.WriteTo(writer);
        });
    }

    /// <summary>Reads and validates a part.</summary>
    /// <exception cref="InvalidPartException">Not a WeightSpace part, of another format version, or malformed.</exception>
    public static PartFile Read(string path)
    {
        JsonNode? root;
        try
        {
            using var stream = File.OpenRead(path);
            root = JsonNode.Parse(stream, documentOptions: new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e) { throw new InvalidPartException(path, $"not JSON ({e.Message})", e); }
        if (root is not JsonObject o || o["weightspace_part"] is null) throw new InvalidPartException(path, "not a WeightSpace part file (no 'weightspace_part')");
        try
        {
            int version = o["weightspace_part"]!.GetValue<int>();
            if (version != FormatVersion) throw new InvalidPartException(path, $"part format {version}; this WeightSpace reads {FormatVersion}");
            var shard = o["shard"] as JsonObject ?? throw new InvalidPartException(path, "no 'shard'");
            int number = shard["number"]!.GetValue<int>(), count = shard["count"]!.GetValue<int>();
            if (count is < 1 or > ShardSpec.MaxCount || number < 1 || number > count)
                throw new InvalidPartException(path, $"shard {number}/{count} is out of range");
            var items = o["items"] as JsonObject ?? throw new InvalidPartException(path, "no 'items'");
            var all = (o["all_items"] as JsonArray ?? throw new InvalidPartException(path, "no 'all_items'")).Select(n => n!.GetValue<string>()).ToList();
            return new PartFile
            {
                ToolVersion = o["tool_version"]!.GetValue<string>(),
                Verb = o["verb"]!.GetValue<string>(),
                Models = (o["models"] as JsonArray ?? throw new InvalidPartException(path, "no 'models'")).Select(n => n!.GetValue<string>()).ToList(),
                Options = o["options"]!.GetValue<string>(),
                Shard = new ShardSpec(number, count),
                AllItems = all,
                Items = items.ToDictionary(kv => kv.Key, kv => kv.Value?.DeepClone() ?? throw new InvalidPartException(path, $"item '{kv.Key}' is null"), StringComparer.Ordinal),
                Context = o["context"]?.DeepClone() as JsonObject,
                Attachment = o["attachment"] is JsonObject a ? ReadAttachment(path, a) : null,
                Provenance = o["provenance"]?.DeepClone() as JsonObject,
            };
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException or ArgumentException)
        {
            throw new InvalidPartException(path, $"malformed part ({e.Message})", e);
        }
    }

    /// <summary>The attachment's full path: it lives in the part's folder.</summary>
    public static string AttachmentPath(string partPath, PartAttachment attachment) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(partPath)) ?? ".", attachment.FileName);

    private static PartAttachment ReadAttachment(string path, JsonObject a)
    {
        string file = a["file"]!.GetValue<string>(), sha = a["sha256"]!.GetValue<string>();
        // A bare file name in the part's folder: a part must not make combine read files elsewhere.
        if (file.Length == 0 || file != Path.GetFileName(file) || file is "." or "..")
            throw new InvalidPartException(path, $"attachment '{file}' is not a file name in the part's folder");
        if (sha.Length != 64 || !sha.All(char.IsAsciiHexDigitLower))
            throw new InvalidPartException(path, $"attachment '{file}' has no valid sha256");
        return new PartAttachment(file, sha);
    }
}
