using WeightSpace.Analysis.Naming;

namespace WeightSpace.Cli.Commands;

/// <summary>The <c>--roles</c> words of <c>ranks</c> and <c>compress</c>: q, k, v, o, qkv, gate, up, gate_up, down,
/// lm_head, embed.</summary>
internal static class RankRoles
{
    private static readonly (string Word, TensorRole Role)[] Words =
    [
        ("q", TensorRole.Query), ("k", TensorRole.Key), ("v", TensorRole.Value), ("o", TensorRole.AttentionOutput), ("qkv", TensorRole.QueryKeyValue),
        ("gate", TensorRole.Gate), ("up", TensorRole.Up), ("gate_up", TensorRole.GateUp), ("down", TensorRole.Down),
        ("lm_head", TensorRole.LmHead), ("embed", TensorRole.TokenEmbedding),
    ];

    /// <summary>The attention and MLP projections: what <c>compress</c> covers by default.</summary>
    public const string Projections = "q,k,v,o,qkv,gate,up,gate_up,down";

    public static HashSet<TensorRole>? Parse(string? text)
    {
        if (text is null) return null;
        var roles = new HashSet<TensorRole>();
        foreach (string w in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var hit = Words.FirstOrDefault(x => x.Word.Equals(w, StringComparison.OrdinalIgnoreCase));
            if (hit.Word is null) throw new UsageException($"--roles '{w}' is not one of {string.Join(", ", Words.Select(x => x.Word))}");
            roles.Add(hit.Role);
        }
        if (roles.Count == 0) throw new UsageException("--roles names no role");
        return roles;
    }
}
