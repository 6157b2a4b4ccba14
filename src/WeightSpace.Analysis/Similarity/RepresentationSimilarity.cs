using static TorchSharp.torch;

namespace WeightSpace.Analysis.Similarity;

/// <summary>Similarity indices between two representations X [n, d_x] and Y [n, d_y] of the same n samples
/// (rows), computed in float64.</summary>
/// <remarks>
/// <para>Linear CKA (Kornblith, Norouzi, Lee and Hinton 2019, "Similarity of Neural Network Representations Revisited",
/// <see href="https://arxiv.org/abs/1905.00414"/>), with column-centred X, Y: CKA = ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F). It
/// is 1 for X against itself and invariant to orthogonal transforms and isotropic scaling of either side.</para>
/// <para>Linearity score (Razzhigaev et al. 2024, "Your Transformer is Secretly Linear", <see href="https://arxiv.org/abs/2405.12250"/>):
/// X̃ = (X − mean)/‖X − mean‖_F and Ỹ likewise, then 1 − min_A ‖X̃A − Ỹ‖²_F with A any linear map — the paper's
/// definition (it calls it the Procrustes similarity; its map is not constrained to be orthogonal). The least-squares
/// residual is ‖Ỹ‖² − ‖UᵀỸ‖² with U an orthonormal basis of X̃'s column space (its left singular vectors above the
/// numerical-rank tolerance), so the score is ‖UᵀỸ‖²_F.</para>
/// <para>Orthogonal Procrustes (Schönemann 1966): with the same normalisation, min over orthogonal R of ‖X̃R − Ỹ‖²_F
/// is 2 − 2‖X̃ᵀỸ‖_*, reported as the similarity ‖X̃ᵀỸ‖_* (1 iff Ỹ is a rotation of X̃).</para>
/// A representation with no variance (all rows equal) gives NaN.
/// </remarks>
public static class RepresentationSimilarity
{
    /// <summary>All three indices for row-major X [samples, len(x)/samples] and Y [samples, len(y)/samples].</summary>
    /// <exception cref="ArgumentException">A length is not a multiple of <paramref name="samples"/>, or samples &lt; 2.</exception>
    public static SimilarityScores Compare(ReadOnlySpan<float> x, ReadOnlySpan<float> y, int samples)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return Compare(Matrix(x, samples, nameof(x)), Matrix(y, samples, nameof(y)));
    }

    /// <summary>Linear CKA of row-major X and Y with <paramref name="samples"/> rows.</summary>
    /// <exception cref="ArgumentException">A length is not a multiple of <paramref name="samples"/>, or samples &lt; 2.</exception>
    public static double LinearCka(ReadOnlySpan<float> x, ReadOnlySpan<float> y, int samples)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return Cka(Centre(Matrix(x, samples, nameof(x))), Centre(Matrix(y, samples, nameof(y))));
    }

    /// <summary>The three indices of float64 (or float32) tensors [n, d]; in the caller's dispose scope.</summary>
    internal static SimilarityScores Compare(Tensor x, Tensor y)
    {
        var xc = Centre(x.to_type(ScalarType.Float64));
        var yc = Centre(y.to_type(ScalarType.Float64));
        double cka = Cka(xc, yc);
        var xn = xc.div(linalg.norm(xc));
        var yn = yc.div(linalg.norm(yc));
        var (u, s, _) = linalg.svd(xn, fullMatrices: false);
        double smax = s.numel() > 0 ? s[0].item<double>() : 0;
        double tol = smax * Math.Max(xn.shape[0], xn.shape[1]) * Math.Pow(2, -52);
        long rank = s.gt(tol).sum().item<long>();
        double linearity = rank == 0 ? double.NaN : u.narrow(1, 0, rank).mT.matmul(yn).square().sum().item<double>();
        double? procrustes = x.shape[1] == y.shape[1] ? linalg.svdvals(xn.mT.matmul(yn)).sum().item<double>() : null;
        return new SimilarityScores(cka, Math.Min(linearity, 1), procrustes is double p ? Math.Min(p, 1) : null);
    }

    internal static Tensor Centre(Tensor x) => x.to_type(ScalarType.Float64).sub(x.to_type(ScalarType.Float64).mean([0], keepdim: true));

    /// <summary>CKA of already centred float64 matrices.</summary>
    internal static double Cka(Tensor xc, Tensor yc)
    {
        double cross = yc.mT.matmul(xc).square().sum().item<double>();
        double xx = linalg.norm(xc.mT.matmul(xc)).item<double>();
        double yy = linalg.norm(yc.mT.matmul(yc)).item<double>();
        return xx > 0 && yy > 0 ? cross / (xx * yy) : double.NaN;
    }

    private static Tensor Matrix(ReadOnlySpan<float> values, int samples, string name)
    {
        if (samples < 2) throw new ArgumentException($"At least 2 samples are needed; got {samples}.", nameof(samples));
        if (values.Length == 0 || values.Length % samples != 0)
            throw new ArgumentException($"{values.Length} values do not form {samples} rows.", name);
        return tensor(values.ToArray(), [samples, values.Length / samples], ScalarType.Float32).to_type(ScalarType.Float64);
    }
}
