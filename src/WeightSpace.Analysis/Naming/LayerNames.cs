namespace WeightSpace.Analysis.Naming;

/// <summary>The layer-index rule shared by merging (layer ranges, gradients) and task vectors (layer groups).</summary>
/// <remarks>A tensor's layer index is its first dot-separated name component made only of ASCII digits:
/// <c>model.layers.3.mlp.up_proj.weight</c> is layer 3 of prefix <c>model.layers.</c>. Names without such a component
/// (<c>fc1.weight</c>, <c>model.embed_tokens.weight</c>) belong to no layer.</remarks>
internal static class LayerNames
{
    public static bool TryParse(string name, out string prefix, out int index, out string suffix)
    {
        int start = 0;
        while (start <= name.Length)
        {
            int end = name.IndexOf('.', start);
            if (end < 0) end = name.Length;
            var part = name.AsSpan(start, end - start);
            if (part.Length > 0 && part.Length <= 9 && IsDigits(part))
            {
                prefix = name[..start];
                index = int.Parse(part, NumberStyles.None, CultureInfo.InvariantCulture);
                suffix = name[end..];
                return true;
            }
            start = end + 1;
        }
        prefix = suffix = "";
        index = -1;
        return false;
    }

    /// <summary>Layer group: the name up to and including the layer index and its dot (<c>model.layers.3.</c>);
    /// without a layer index, the name minus its last component (<c>fc1</c> for <c>fc1.weight</c>), or the whole name if it has one component.</summary>
    public static string Group(string name)
    {
        if (TryParse(name, out string prefix, out int index, out _))
            return prefix + index.ToString(CultureInfo.InvariantCulture) + ".";
        int dot = name.LastIndexOf('.');
        return dot > 0 ? name[..dot] : name;
    }

    /// <summary>The same name with its layer index replaced.</summary>
    public static string WithIndex(string prefix, int index, string suffix) =>
        prefix + index.ToString(CultureInfo.InvariantCulture) + suffix;

    /// <summary>Non-layer tensors that come before the layers in a network (embeddings): parameters evaluate at t = 0; others at t = 1 (mergekit's pre/post weights).</summary>
    public static bool IsPreLayer(string name) =>
        name.Contains("embed", StringComparison.OrdinalIgnoreCase) || name.Contains("wte", StringComparison.Ordinal) ||
        name.Contains("wpe", StringComparison.Ordinal);

    private static bool IsDigits(ReadOnlySpan<char> s)
    {
        foreach (char c in s) if (c is < '0' or > '9') return false;
        return true;
    }
}
