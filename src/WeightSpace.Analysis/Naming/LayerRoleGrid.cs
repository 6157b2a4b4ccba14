namespace WeightSpace.Analysis.Naming;

/// <summary>One per-tensor metric arranged as a block × role matrix (the transformer view of a checkpoint): rows are
/// block indices, columns the roles present, in <see cref="TensorRole"/> order, read from names by
/// <see cref="TensorNames.Parse"/>.</summary>
/// <param name="Layers">Block indices present, ascending.</param>
/// <param name="Roles">Roles present inside the blocks, in enum order.</param>
/// <param name="Values">[layer row][role column]: the metric, NaN where the block has no such tensor (or it was not
/// analysed). Several tensors of one cell (e.g. split experts) are averaged.</param>
/// <param name="Outside">Tensors with a value but no block (embeddings, final norm, head), by name.</param>
public sealed record LayerRoleGrid(IReadOnlyList<int> Layers, IReadOnlyList<TensorRole> Roles, double[][] Values, IReadOnlyDictionary<string, double> Outside)
{
    /// <summary>The value at block <paramref name="layer"/> and <paramref name="role"/>, NaN if that cell is empty.</summary>
    public double this[int layer, TensorRole role]
    {
        get
        {
            for (int r = 0; r < Layers.Count; r++)
                if (Layers[r] == layer)
                    for (int c = 0; c < Roles.Count; c++)
                        if (Roles[c] == role) return Values[r][c];
            return double.NaN;
        }
    }

    /// <summary>Arranges per-tensor values by block and role. Only weights (parameter <c>weight</c> or a bare name)
    /// count; biases and adapter factors are left out. Null values and non-finite values are skipped.</summary>
    /// <returns>The grid, or null when no tensor has both a block index and a recognised role (unknown naming: callers
    /// fall back to their flat per-tensor view).</returns>
    public static LayerRoleGrid? Build(IEnumerable<(string Name, double? Value)> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var cells = new Dictionary<(int Layer, TensorRole Role), List<double>>();
        var outside = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (name, value) in values)
        {
            if (value is not double v || !double.IsFinite(v)) continue;
            var parsed = TensorNames.Parse(name);
            if (parsed.Parameter is not (null or "weight")) continue;
            if (parsed.Layer is int layer && parsed.Role != TensorRole.Other)
            {
                if (!cells.TryGetValue((layer, parsed.Role), out var list)) cells[(layer, parsed.Role)] = list = [];
                list.Add(v);
            }
            else if (parsed.Role != TensorRole.Other) outside[name] = v;
        }
        if (cells.Count == 0) return null;
        int[] layers = [.. cells.Keys.Select(k => k.Layer).Distinct().Order()];
        TensorRole[] roles = [.. cells.Keys.Select(k => k.Role).Distinct().Order()];
        var grid = layers.Select(l => roles.Select(r => cells.TryGetValue((l, r), out var list) ? list.Average() : double.NaN).ToArray()).ToArray();
        return new LayerRoleGrid(layers, roles, grid, outside);
    }

    /// <summary>Short column label of a role, as in Hugging Face Llama names (q, k, v, qkv, o, gate, up, gate_up, down, …).</summary>
    public static string Label(TensorRole role) => role switch
    {
        TensorRole.Query => "q",
        TensorRole.Key => "k",
        TensorRole.Value => "v",
        TensorRole.QueryKeyValue => "qkv",
        TensorRole.AttentionOutput => "o",
        TensorRole.Gate => "gate",
        TensorRole.Up => "up",
        TensorRole.GateUp => "gate_up",
        TensorRole.Down => "down",
        TensorRole.AttentionNorm => "attn norm",
        TensorRole.MlpNorm => "mlp norm",
        _ => role.ToString(),
    };
}
