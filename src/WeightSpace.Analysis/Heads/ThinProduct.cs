using static TorchSharp.torch;

namespace WeightSpace.Analysis.Heads;

/// <summary>Singular values and norms of a product X Yᵀ of thin factors (X, Y: [d, c], c ≪ d) without forming the
/// d × d matrix: with thin QR X = Q_x R_x and Y = Q_y R_y, X Yᵀ = Q_x (R_x R_yᵀ) Q_yᵀ and Q_x, Q_y have orthonormal
/// columns, so X Yᵀ has exactly the singular values of the c × c core R_x R_yᵀ (and d − c zeros).</summary>
internal static class ThinProduct
{
    /// <summary>The triangular factor R of the thin QR of every matrix of the batch <paramref name="x"/> [b, d, c].</summary>
    public static Tensor TriangularFactor(Tensor x)
    {
        var (q, r) = linalg.qr(x, linalg.QRMode.Reduced);
        q.Dispose();
        return r;
    }

    /// <summary>The cores R_x R_yᵀ for batches of factors R_x, R_y [b, k, c].</summary>
    public static Tensor Core(Tensor rx, Tensor ry) => rx.matmul(ry.mT);

    /// <summary>The cores of X Yᵀ for batches [b, d, c].</summary>
    public static Tensor CoreOf(Tensor x, Tensor y)
    {
        using var rx = TriangularFactor(x);
        using var ry = TriangularFactor(y);
        return Core(rx, ry);
    }

    /// <summary>The cores of X₁Y₁ᵀ − X₀Y₀ᵀ = [X₁, −X₀][Y₁, Y₀]ᵀ for batches [b, d, c]: exact, with no cancellation
    /// between two large d × d products.</summary>
    public static Tensor DifferenceCore(Tensor x1, Tensor y1, Tensor x0, Tensor y0)
    {
        using var x = cat([x1, x0.neg()], -1);
        using var y = cat([y1, y0], -1);
        return CoreOf(x, y);
    }
}
