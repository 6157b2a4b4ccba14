using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Formats.Integrity;

/// <summary>How serious a preflight finding is.</summary>
public enum FindingSeverity
{
    /// <summary>The model loads, but something is probably not what was meant (e.g. a stray shard file).</summary>
    Warning,

    /// <summary>The model does not load, or loads wrong (a tensor missing, in two shards, or of the wrong size).</summary>
    Error,
}

/// <summary>One problem of a shard index.</summary>
/// <param name="Severity">Whether loaders fail (or load wrong) on it.</param>
/// <param name="File">The index or shard file it is about.</param>
/// <param name="Tensor">The tensor it names, if any.</param>
/// <param name="Message">What is wrong, in one line.</param>
public sealed record IndexFinding(FindingSeverity Severity, string File, string? Tensor, string Message)
{
    /// <inheritdoc/>
    public override string ToString() => Tensor is null ? $"{File}: {Message}" : $"{File}: tensor '{Tensor}': {Message}";
}

/// <summary>What <see cref="ShardIndexAudit.Audit"/> found in a <c>model.safetensors.index.json</c> and its shards.</summary>
/// <param name="IndexPath">The index file.</param>
/// <param name="Shards">Shard files the index names.</param>
/// <param name="IndexedTensors">Entries of the index's <c>weight_map</c>.</param>
/// <param name="ShardTensors">Tensors the readable shards' headers hold.</param>
/// <param name="Findings">Every problem found, in index order (shards in name order).</param>
public sealed record IndexAuditReport(string IndexPath, int Shards, int IndexedTensors, int ShardTensors, IReadOnlyList<IndexFinding> Findings)
{
    /// <summary>True when no finding is an error.</summary>
    public bool Ok => Findings.All(f => f.Severity != FindingSeverity.Error);
}

/// <summary>Checks a sharded safetensors checkpoint from its index and the shards' headers only (no tensor data is
/// read): every <c>weight_map</c> entry is in the shard it names, no shard tensor is missing from the index or in two
/// shards, every named shard exists and has a valid header, and <c>metadata.total_size</c> matches the tensors' bytes.
/// Unlike <see cref="Checkpoint.Open"/>, which stops at the first inconsistency, it reports them all.</summary>
public static class ShardIndexAudit
{
    /// <summary>The index of a folder (<c>model.safetensors.index.json</c>, or its single <c>*.safetensors.index.json</c>),
    /// the path itself when it is an index file, else null.</summary>
    public static string? FindIndex(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path)) return path.EndsWith(".safetensors.index.json", StringComparison.OrdinalIgnoreCase) ? path : null;
        if (!Directory.Exists(path)) return null;
        string standard = Path.Combine(path, SafetensorsReader.IndexFileName);
        if (File.Exists(standard)) return standard;
        var indexes = Directory.GetFiles(path, "*.safetensors.index.json");
        return indexes.Length == 1 ? indexes[0] : null;
    }

    /// <summary>Audits one index.</summary>
    /// <param name="indexPath">The index file.</param>
    /// <param name="options">Limits for the index and the headers; defaults if null.</param>
    /// <exception cref="InvalidCheckpointException">The index itself cannot be parsed (then nothing else can be checked).</exception>
    public static IndexAuditReport Audit(string indexPath, SafetensorsOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(indexPath);
        options ??= new SafetensorsOptions();
        var index = SafetensorsIndex.Read(indexPath, options);
        var findings = new List<IndexFinding>();
        var owner = new Dictionary<string, string>(StringComparer.Ordinal);
        var unreadable = new HashSet<string>(StringComparer.Ordinal);
        long tensorBytes = 0;
        foreach (string shard in index.Shards)
        {
            string shardPath = index.ShardPath(shard);
            if (!File.Exists(shardPath))
            {
                int listed = index.WeightMap.Count(kv => kv.Value == shard);
                findings.Add(new(FindingSeverity.Error, indexPath, null, $"shard '{shard}' (named for {listed} tensor(s)) does not exist"));
                unreadable.Add(shard);
                continue;
            }
            SafetensorsHeader header;
            try
            {
                header = SafetensorsHeader.Read(shardPath, options);
            }
            catch (InvalidCheckpointException e)
            {
                findings.Add(new(FindingSeverity.Error, shardPath, null, $"header is invalid: {e.Message}"));
                unreadable.Add(shard);
                continue;
            }
            foreach (var entry in header.Entries)
            {
                string name = entry.Info.Name;
                tensorBytes += entry.Info.ByteCount;
                if (!owner.TryAdd(name, shard))
                    findings.Add(new(FindingSeverity.Error, shardPath, name, $"is also in shard '{owner[name]}'; a tensor must live in one shard"));
                else if (!index.WeightMap.TryGetValue(name, out string? listed))
                    findings.Add(new(FindingSeverity.Error, shardPath, name, "is not listed in the index's weight_map (loaders never see it)"));
                else if (listed != shard)
                    findings.Add(new(FindingSeverity.Error, shardPath, name, $"the index puts it in shard '{listed}', not in '{shard}'"));
            }
        }
        foreach (var (name, shard) in index.WeightMap)
            if (!unreadable.Contains(shard) && !owner.ContainsKey(name))
                findings.Add(new(FindingSeverity.Error, indexPath, name, $"the index lists it in shard '{shard}', which does not hold it"));

        // transformers writes total_size as the sum of the tensors' bytes; a mismatch means the index and shards are from different saves.
        if (unreadable.Count == 0 && index.Metadata.TryGetValue("total_size", out string? total))
        {
            if (!long.TryParse(total, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long stated))
                findings.Add(new(FindingSeverity.Warning, indexPath, null, $"metadata.total_size '{total}' is not a byte count"));
            else if (stated != tensorBytes)
                findings.Add(new(FindingSeverity.Warning, indexPath, null, $"metadata.total_size is {stated} but the shards' tensors hold {tensorBytes} bytes"));
        }

        // A .safetensors file beside the index that it does not name: usually a shard left over from another save.
        string folder = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var named = index.Shards.Select(index.ShardPath).ToHashSet(StringComparer.Ordinal);
        foreach (string file in Directory.EnumerateFiles(folder, "*.safetensors").Order(StringComparer.Ordinal))
            if (!named.Contains(Path.GetFullPath(file)))
                findings.Add(new(FindingSeverity.Warning, file, null, "is beside the index but not named by it (loaders ignore it)"));

        return new IndexAuditReport(indexPath, index.Shards.Count, index.WeightMap.Count, owner.Count, findings);
    }
}
