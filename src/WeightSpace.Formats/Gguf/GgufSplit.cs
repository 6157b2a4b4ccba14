namespace WeightSpace.Formats.Gguf;

/// <summary>llama.cpp's split GGUF sets (<c>gguf-split</c>, <c>llama_split_path</c>, the loader's checks in
/// <c>llama-model-loader.cpp</c>): part names, the <c>split.*</c> keys, the writer's partition and the reader's
/// validation of a whole set.</summary>
internal static partial class GgufSplit
{
    public const string NoKey = "split.no";
    public const string CountKey = "split.count";
    public const string TensorsCountKey = "split.tensors.count";

    /// <summary>True for the three keys that describe a part, which a rewrite of the model must not copy.</summary>
    public static bool IsSplitKey(string key) => key is NoKey or CountKey or TensorsCountKey;

    /// <summary><c>llama_split_path</c>: <c>PREFIX-%05d-of-%05d.gguf</c> with the 1-based part number.</summary>
    public static string PartPath(string prefix, int index, int count) =>
        string.Create(CultureInfo.InvariantCulture, $"{prefix}-{index + 1:D5}-of-{count:D5}.gguf");

    /// <summary>The prefix gguf-split takes for an output named <paramref name="outputPath"/> (<c>.gguf</c> dropped).</summary>
    public static string PrefixOf(string outputPath) =>
        outputPath.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) ? outputPath[..^5] : outputPath;

    /// <summary>The <c>split.count</c> of a header when it makes the file part of a set (over 1; llama.cpp loads a
    /// count of 0 or 1 as a single file), else null.</summary>
    public static int? SetSize(GgufHeader header)
    {
        var value = Find(header, CountKey);
        if (value is null) return null;
        int count = U16(header, value, CountKey);
        return count > 1 ? count : null;
    }

    /// <summary>Opens every part of the set <paramref name="given"/> belongs to and checks them against each other;
    /// returns the parts in order (the given one included). On failure every part opened here is disposed.</summary>
    public static List<(MappedFile File, GgufHeader Header)> OpenSet(MappedFile givenFile, GgufHeader given, int count, Func<string, (MappedFile, GgufHeader)> open)
    {
        int no = RequireU16(given, NoKey);
        if (no >= count) throw GgufHeader.Error(given.Path, null, NoKey, $"part number {no} is out of range for split.count {count} (0 to {count - 1})");
        int tensorsTotal = RequireTensorsCount(given);
        var match = PartName().Match(Path.GetFileName(given.Path));
        if (!match.Success || int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture) != no + 1 || int.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture) != count)
            throw GgufHeader.Error(given.Path, null, null,
                $"is part {no + 1} of a split set of {count} (split.no = {no}), so it must be named PREFIX-{no + 1:D5}-of-{count:D5}.gguf as gguf-split writes it; the other parts are found by that name");
        string prefix = Path.Combine(Path.GetDirectoryName(given.Path) ?? "", match.Groups[1].Value);

        var parts = new List<(MappedFile File, GgufHeader Header)>(count);
        var owner = new Dictionary<string, int>(StringComparer.Ordinal);
        long tensors = 0;
        try
        {
            for (int i = 0; i < count; i++)
            {
                string path = PartPath(prefix, i, count);
                if (i != no && !File.Exists(path))
                    throw GgufHeader.Error(path, null, null, $"part {i + 1} of {count} is missing (split set of {given.Path})");
                var part = i == no ? (givenFile, given) : open(path);
                parts.Add(part);
                var header = part.Item2;
                int partCount = RequireU16(header, CountKey);
                if (partCount != count)
                    throw GgufHeader.Error(header.Path, null, CountKey, $"is {partCount} but part {no + 1} ({given.Path}) says {count}");
                int partNo = RequireU16(header, NoKey);
                if (partNo != i)
                    throw GgufHeader.Error(header.Path, null, NoKey, $"is {partNo}, but the file is named as part {i + 1} of {count} (split.no {i})");
                int partTotal = RequireTensorsCount(header);
                if (partTotal != tensorsTotal)
                    throw GgufHeader.Error(header.Path, null, TensorsCountKey, $"is {partTotal} but part {no + 1} ({given.Path}) says {tensorsTotal}");
                foreach (var t in header.Tensors)
                    if (!owner.TryAdd(t.Name, i))
                        throw GgufHeader.Error(header.Path, t.Name, null, $"is also in part {owner[t.Name] + 1} ({PartPath(prefix, owner[t.Name], count)}); a tensor must be in exactly one part");
                tensors = checked(tensors + header.Tensors.Count);
            }
            if (tensors != tensorsTotal)
                throw GgufHeader.Error(parts[0].Header.Path, null, TensorsCountKey, $"is {tensorsTotal} but the {count} parts hold {tensors} tensors");
            return parts;
        }
        catch
        {
            foreach (var (file, _) in parts)
                if (!ReferenceEquals(file, givenFile)) file.Dispose();
            throw;
        }
    }

    /// <summary>gguf-split's partition (<c>split_strategy</c>): a new part starts when the padded tensor bytes would
    /// pass <see cref="GgufSplitOptions.MaxBytes"/>, or every <see cref="GgufSplitOptions.MaxTensors"/> tensors.
    /// Returns the tensor count of each part.</summary>
    /// <exception cref="ArgumentException">A part would be empty (a tensor larger than the limit is first), as gguf-split refuses.</exception>
    public static List<int> Plan(IReadOnlyList<long> tensorBytes, GgufSplitOptions options)
    {
        options.Validate();
        var counts = new List<int> { 0 };
        long current = 0;
        for (int i = 0; i < tensorBytes.Count; i++)
        {
            long padded = GgufFileWriter.Align(tensorBytes[i], GgufHeader.DefaultAlignment);
            long next = checked(current + padded);
            bool split = options.MaxBytes is { } max ? next > max : i > 0 && i % options.MaxTensors!.Value == 0;
            if (split)
            {
                if (counts[^1] == 0)
                    throw new ArgumentException($"the first tensor has {padded} bytes, more than the split size {options.MaxBytes} bytes: a part would hold no tensor (gguf-split refuses this too)", nameof(options));
                counts.Add(0);
                current = padded;
            }
            else
            {
                current = next;
            }
            counts[^1]++;
        }
        if (counts.Count > ushort.MaxValue) throw new ArgumentException($"{counts.Count} parts: split.count is a UINT16 (at most {ushort.MaxValue})", nameof(options));
        return counts;
    }

    private static GgufValue? Find(GgufHeader header, string key)
    {
        foreach (var (k, v) in header.Metadata)
            if (k == key) return v;
        return null;
    }

    private static int RequireU16(GgufHeader header, string key) =>
        Find(header, key) is { } v ? U16(header, v, key) : throw GgufHeader.Error(header.Path, null, key, "is missing; every part of a split set carries split.no, split.count and split.tensors.count");

    private static int U16(GgufHeader header, GgufValue value, string key) =>
        value.Type == GgufValueType.UInt16 ? (ushort)value.Value : throw GgufHeader.Error(header.Path, null, key, $"must be a UINT16 (as gguf-split writes it), not {GgufValue.TypeName(value.Type)}");

    private static int RequireTensorsCount(GgufHeader header)
    {
        var value = Find(header, TensorsCountKey) ?? throw GgufHeader.Error(header.Path, null, TensorsCountKey, "is missing; every part of a split set carries split.no, split.count and split.tensors.count");
        if (value.Type != GgufValueType.Int32) throw GgufHeader.Error(header.Path, null, TensorsCountKey, $"must be an INT32 (as gguf-split writes it), not {GgufValue.TypeName(value.Type)}");
        int n = (int)value.Value;
        return n >= 0 ? n : throw GgufHeader.Error(header.Path, null, TensorsCountKey, $"is negative ({n})");
    }

    [GeneratedRegex(@"^(.+)-(\d{5})-of-(\d{5})\.gguf$", RegexOptions.CultureInvariant)]
    private static partial Regex PartName();
}
