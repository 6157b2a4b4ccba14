using TorchSharp;
using static TorchSharp.torch;

namespace WeightSpace.Analysis.Spectra;

/// <summary>The TorchSharp side: singular values and vectors of a <see cref="LayerMatrix"/>. Each call is one
/// dispose scope; nothing native outlives it.</summary>
internal static class SpectralSolver
{
    /// <summary>Singular values by torch <c>linalg.svdvals</c>, descending within each of the
    /// <see cref="LayerMatrix.MatrixCount"/> matrices, laid out matrix after matrix (M values each).</summary>
    public static double[] SingularValues(LayerMatrix matrix) => Solve(matrix, SpectralSolverKind.Svd);

    /// <summary>The solver a layer actually uses: operator-mode symbols are complex and always take the SVD.</summary>
    public static SpectralSolverKind Effective(LayerMatrix matrix) =>
        matrix.Kind != "dense" && matrix.Options.ConvMode == ConvSpectrumMode.Operator ? SpectralSolverKind.Svd : matrix.Options.Solver;

    /// <summary>Singular values as <see cref="SingularValues"/> lays them out, computed by <paramref name="kind"/>.</summary>
    /// <remarks>Gram: σ = √max(0, λ) with λ the eigenvalues (eigvalsh, ascending) of G = W·Wᵀ or Wᵀ·W, whichever is
    /// M×M. Forming G costs N·M² multiply-adds and eigvalsh about (4/3)M³ + O(M²), against roughly 4NM² + 8M³ for a
    /// bidiagonalising SVD. G's rounding error is ≈ ε·λ_max per eigenvalue (Weyl), so relative accuracy holds for the
    /// eigenvalues well above ε·λ_max and is lost below it.</remarks>
    public static double[] Solve(LayerMatrix matrix, SpectralSolverKind kind)
    {
        using var scope = torch.NewDisposeScope();
        var batch = Batch(matrix);
        Tensor sigma;
        if (kind == SpectralSolverKind.Gram && !batch.is_complex())
        {
            var rows = batch.shape[1] <= batch.shape[2] ? batch : batch.mT;
            var gram = batch.shape[0] == 1 && rows.shape[1] >= LowerGramMinimumSide ? LowerGram(rows[0]).unsqueeze(0) : rows.matmul(rows.mT);
            sigma = linalg.eigvalsh(gram).clamp_min(0).sqrt_().flip(-1);
        }
        else sigma = linalg.svdvals(batch);
        return sigma.to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
    }

    /// <summary>From this Gram side on, only G's lower triangle is formed (<see cref="LowerGram"/>).</summary>
    internal const int LowerGramMinimumSide = 1024;

    /// <summary>Panel height of <see cref="LowerGram"/>: 8 panels for a 4096-wide Gram matrix, each product still large
    /// enough for GEMM to run at full speed.</summary>
    private const int GramPanel = 512;

    /// <summary>The lower triangle of G = A·Aᵀ for A [M, N] (above the diagonal panels G stays zero), as a SYRK would:
    /// panel i of rows gets A_i·A[0..end of i]ᵀ, so the GEMMs do (1 + 1/k)/2 of the full product's work for k panels
    /// (56 % for k = 8). <c>eigvalsh</c> reads only the lower triangle (UPLO = 'L'), so its result is unchanged.</summary>
    internal static Tensor LowerGram(Tensor a)
    {
        long m = a.shape[0];
        var gram = torch.zeros([m, m], dtype: a.dtype);
        for (long start = 0; start < m; start += GramPanel)
        {
            long end = Math.Min(m, start + GramPanel);
            gram.narrow(0, start, end - start).narrow(1, 0, end).copy_(a.narrow(0, start, end - start).matmul(a.narrow(0, 0, end).mT));
        }
        return gram;
    }

    /// <summary>The analysed matrices as one batch [count, rows, cols].</summary>
    private static Tensor Batch(LayerMatrix matrix)
    {
        var kernel = Canonical(matrix);
        if (matrix.Kind == "dense") return kernel.unsqueeze(0);
        if (matrix.Options.ConvMode == ConvSpectrumMode.Unfolded) return kernel.reshape(1, matrix.OutChannels, -1);
        if (matrix.Options.ConvMode == ConvSpectrumMode.WeightWatcher)
            // Slice W[:, :, i, j] for every tap: [kh, kw, out, in] → [kh·kw, out, in].
            return kernel.permute(2, 3, 0, 1).reshape(-1, matrix.OutChannels, matrix.InChannels).contiguous();
        return OperatorSymbols(kernel, matrix);
    }

    /// <summary>Principal-angle cosines between the top-k left singular subspaces of two matrices of one shape, and for
    /// each of the fine-tuned top-k vectors its largest |cosine| with the base's leading <paramref name="baseRank"/>
    /// vectors. Both are unfolded to [out, in·kh·kw] in canonical order.</summary>
    /// <remarks>cos θ_i are the singular values of U₁ᵀU₂ for orthonormal bases U₁, U₂ (Björck and Golub 1973).</remarks>
    public static (double[] Cosines, double[] MaxCosines, double[] Sigma, int K) CompareSubspaces(
        LayerMatrix fineTuned, LayerMatrix baseline, int k, int? baseRank)
    {
        using var scope = torch.NewDisposeScope();
        var (u1, s1, _) = linalg.svd(Canonical(fineTuned).reshape(fineTuned.OutChannels, -1).to_type(ScalarType.Float64), fullMatrices: false);
        var (u2, _, _) = linalg.svd(Canonical(baseline).reshape(baseline.OutChannels, -1).to_type(ScalarType.Float64), fullMatrices: false);
        int r = (int)Math.Min(u1.shape[1], u2.shape[1]);
        k = Math.Min(k, r);
        int kb = (int)Math.Min(baseRank ?? u2.shape[1], u2.shape[1]);
        var top1 = u1[.., ..k];
        var cosines = linalg.svdvals(top1.mT.matmul(u2[.., ..k])).clamp(0, 1).contiguous();
        var maxCos = top1.mT.matmul(u2[.., ..kb]).abs().amax([1]).contiguous();
        return (cosines.data<double>().ToArray(), maxCos.data<double>().ToArray(), s1[..k].contiguous().data<double>().ToArray(), k);
    }

    /// <summary>The weights as a torch tensor in canonical [out, in, kh, kw] order ([out, in] for dense).</summary>
    private static Tensor Canonical(LayerMatrix matrix)
    {
        var dims = matrix.Shape.ToArray();
        Tensor t = matrix.Single is not null ? torch.tensor(matrix.Single, dims) : torch.tensor(matrix.Double!, dims);
        if (matrix.ToCanonical is not null) t = t.permute(matrix.ToCanonical.Select(i => (long)i).ToArray());
        if (matrix.Kind == "conv1d") t = t.unsqueeze(-1);
        return t.contiguous();
    }

    /// <summary>The c_out×c_in symbol P(u, v) = Σ_{i,j} K[:, :, i, j]·e^{−2πi(ui/n₁ + vj/n₂)} at every frequency of the
    /// n₁×n₂ DFT grid, as a batch [n₁·n₂, out, in]. Its singular values over all frequencies are exactly those of the
    /// convolution with circular padding on an n₁×n₂ input (Sedghi, Gupta and Long 2019, Theorem 6,
    /// <see href="https://arxiv.org/abs/1805.10408"/>).</summary>
    private static Tensor OperatorSymbols(Tensor kernel, LayerMatrix matrix)
    {
        var (n1, n2) = matrix.OperatorGrid;
        long kh = kernel.shape[2], kw = kernel.shape[3];
        Tensor padded;
        if (kh <= n1 && kw <= n2)
            padded = nn.functional.pad(kernel, [0, n2 - kw, 0, n1 - kh]);
        else
        {
            // A kernel larger than the input wraps around the torus: taps i and i + n₁ act on the same pixel.
            padded = torch.zeros([matrix.OutChannels, matrix.InChannels, n1, n2], dtype: kernel.dtype);
            for (long i = 0; i < kh; i++)
                for (long j = 0; j < kw; j++)
                    padded[.., .., i % n1, j % n2].add_(kernel[.., .., i, j]);
        }
        var symbols = fft.fft2(padded, dim: [2, 3]);
        return symbols.permute(2, 3, 0, 1).reshape(-1, matrix.OutChannels, matrix.InChannels);
    }
}
