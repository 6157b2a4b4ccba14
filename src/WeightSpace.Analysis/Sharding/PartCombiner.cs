namespace WeightSpace.Analysis.Sharding;

/// <summary>Puts the parts of one sharded run back together, refusing parts of different runs.</summary>
public static class PartCombiner
{
    /// <summary>Reads <paramref name="paths"/> and returns every item's result in the single-run order.</summary>
    /// <param name="paths">The part files.</param>
    /// <param name="expectedCount">The shard count the run used, when known (Slurm's <c>--array N</c>): a part of
    /// another count is refused, and so is a missing shard.</param>
    /// <param name="logFolder">Where the array tasks' logs are, so a message about a missing shard can point to its log.</param>
    /// <exception cref="InvalidPartException">A part is unreadable, parts disagree on version, verb, models, options
    /// or shard count, a shard is missing or given twice, or an item is missing or computed twice.</exception>
    public static CombinedParts Combine(IReadOnlyList<string> paths, int? expectedCount = null, string? logFolder = null)
    {
        // Missing files are reported together, with their logs, rather than one at a time.
        var absent = paths.Where(p => !File.Exists(p)).ToList();
        var parts = paths.Where(File.Exists).Select(p => (Path: p, Part: PartFile.Read(p))).ToList();
        if (parts.Count == 0)
            throw new InvalidPartException(null, absent.Count == 0 ? "no parts given" : $"none of the {absent.Count} parts exists ({Describe(absent, logFolder)})");
        var first = parts[0];
        int count = expectedCount ?? first.Part.Shard.Count;
        foreach (var (path, part) in parts)
        {
            Require(path, "tool version", part.ToolVersion, first.Part.ToolVersion, first.Path);
            Require(path, "verb", part.Verb, first.Part.Verb, first.Path);
            Require(path, "models", string.Join(", ", part.Models), string.Join(", ", first.Part.Models), first.Path);
            Require(path, "options", part.Options, first.Part.Options, first.Path);
            Require(path, "context", part.Context?.ToJsonString() ?? "", first.Part.Context?.ToJsonString() ?? "", first.Path);
            if (part.Shard.Count != count)
                throw new InvalidPartException(path, $"is shard {part.Shard} of a {part.Shard.Count}-way split; expected {count} shards");
            if (!part.AllItems.SequenceEqual(first.Part.AllItems, StringComparer.Ordinal))
                throw new InvalidPartException(path, $"lists other work items than {first.Path}");
        }
        var byNumber = new Dictionary<int, string>();
        foreach (var (path, part) in parts)
            if (!byNumber.TryAdd(part.Shard.Number, path))
                throw new InvalidPartException(path, $"shard {part.Shard} is also given by {byNumber[part.Shard.Number]}");
        var missing = Enumerable.Range(1, count).Where(n => !byNumber.ContainsKey(n)).ToList();
        if (missing.Count > 0)
        {
            string logs = logFolder is null ? "" : "; their logs: " + string.Join(", ", missing.Take(8).Select(n => Path.Combine(logFolder, $"task-{n - 1:D5}.log")));
            throw new InvalidPartException(null, $"{missing.Count} of {count} shards have no part: {string.Join(", ", missing.Take(20).Select(n => $"{n}/{count}"))}{(missing.Count > 20 ? ", …" : "")}{logs}");
        }
        if (absent.Count > 0) throw new InvalidPartException(null, $"parts not found: {Describe(absent, logFolder)}");

        var items = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        var from = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (path, part) in parts)
            foreach (var (name, value) in part.Items)
            {
                if (!items.TryAdd(name, value))
                    throw new InvalidPartException(path, $"item '{name}' is also in {from[name]}");
                from[name] = path;
            }
        var order = first.Part.AllItems;
        var lost = order.Where(n => !items.ContainsKey(n)).ToList();
        if (lost.Count > 0) throw new InvalidPartException(null, $"{lost.Count} work items are in no part: {string.Join(", ", lost.Take(10))}");
        var extra = items.Keys.Where(k => !order.Contains(k)).ToList();
        if (extra.Count > 0) throw new InvalidPartException(from[extra[0]], $"item '{extra[0]}' is not a work item of this run");
        return new CombinedParts(first.Part, order.Select(n => KeyValuePair.Create(n, items[n])).ToList(),
            parts.OrderBy(p => p.Part.Shard.Number).Select(p => new CombinedPart(p.Path, p.Part)).ToList());
    }

    private static void Require(string path, string what, string value, string expected, string firstPath)
    {
        if (!string.Equals(value, expected, StringComparison.Ordinal))
            throw new InvalidPartException(path, $"{what} '{Shorten(value)}' differs from '{Shorten(expected)}' in {firstPath}: the parts are from different runs");
    }

    private static string Shorten(string text) => text.Length <= 120 ? text : text[..117] + "…";

    private static string Describe(IReadOnlyList<string> absent, string? logFolder) =>
        string.Join(", ", absent.Take(8)) + (absent.Count > 8 ? ", …" : "") + (logFolder is null ? "" : $" (task logs in {logFolder})");
}
