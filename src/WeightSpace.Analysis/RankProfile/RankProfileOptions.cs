namespace WeightSpace.Analysis.RankProfile;

/// <summary>Which matrices a rank profile (or a compression) covers, and in what precision.</summary>
public sealed record RankProfileOptions
{
    /// <summary>The roles covered; null: every 2-D floating-point tensor except embeddings (see <see cref="IncludeEmbeddings"/>).</summary>
    public IReadOnlySet<TensorRole>? Roles { get; init; }

    /// <summary>Also profile token/position embeddings (large and rarely compressed).</summary>
    public bool IncludeEmbeddings { get; init; }

    /// <summary>Matrices up to this many elements get float64 singular values (numerically exact for the stored
    /// values); larger ones float32, with float32's ε in the numerical-rank tolerance. 2²⁴ elements (a 4096 × 4096
    /// projection) keep the float64 copy and LAPACK's own at 128 MiB each, so a 7B layer's MLP matrices (11008 × 4096,
    /// float32) stay within two float32 matrices of memory.</summary>
    public long MaxFloat64Elements { get; init; } = 1L << 24;

    /// <summary>True when <paramref name="info"/> is covered.</summary>
    public bool Covers(TensorInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (info.Shape.Rank != 2 || !info.DType.IsFloatingPoint() || info.Shape[0] < 1 || info.Shape[1] < 1) return false;
        var role = TensorNames.Parse(info.Name).Role;
        if (Roles is not null) return Roles.Contains(role);
        return IncludeEmbeddings || role is not (TensorRole.TokenEmbedding or TensorRole.PositionEmbedding or TensorRole.TokenTypeEmbedding);
    }
}
