using TorchSharp;
using WeightSpace.Analysis.Spectra;
using static TorchSharp.torch;

namespace WeightSpace.Tests.Analysis.Spectra;

/// <summary>The SYRK-style Gram product: its lower triangle equals the full product's, and eigvalsh of it gives the
/// full product's eigenvalues (UPLO = 'L' never reads the upper triangle, most of which is never computed).</summary>
public sealed class LowerGramTests
{
    [Theory]
    [InlineData(1030, 40)]    // panels of 512, 512 and a ragged 6
    [InlineData(512, 700)]    // exactly one panel
    [InlineData(1536, 1536)]  // three full panels
    public void LowerTriangle_EqualsFullProduct_UpperIsZero(int m, int n)
    {
        using var scope = torch.NewDisposeScope();
        var a = torch.randn([m, n], dtype: ScalarType.Float64, generator: new torch.Generator(7));
        var full = a.matmul(a.mT);
        var lower = SpectralSolver.LowerGram(a);

        Assert.Equal(0.0, (lower.tril() - full.tril()).abs().max().item<double>(), 9);
        // Above the diagonal panels nothing is computed: the first row holds its own panel's 512 columns at most.
        Assert.Equal(0.0, lower[0].narrow(0, Math.Min(m, 512), m - Math.Min(m, 512)).abs().sum().item<double>());
        var expected = linalg.eigvalsh(full);
        var actual = linalg.eigvalsh(lower);
        Assert.True((expected - actual).abs().max().item<double>() <= 1e-9 * expected.abs().max().item<double>());
    }

    [Fact]
    public void GramSolver_AboveThreshold_MatchesSvdvals()
    {
        // Wide enough that Solve takes the lower-triangle path; singular values known by construction: a diagonal
        // σ_i = i + 1 rotated by random orthogonal factors on both sides.
        int m = SpectralSolver.LowerGramMinimumSide + 3, n = m + 200;
        using var scope = torch.NewDisposeScope();
        var g = new torch.Generator(11);
        var (q1, _) = linalg.qr(torch.randn([m, m], dtype: ScalarType.Float64, generator: g));
        var (q2, _) = linalg.qr(torch.randn([n, m], dtype: ScalarType.Float64, generator: g));
        var sigma = torch.arange(1, m + 1, dtype: ScalarType.Float64);
        var w = q1.matmul(torch.diag(sigma)).matmul(q2.mT).contiguous();
        double[] values = w.data<double>().ToArray();

        var layer = SpectrumAnalyzer.AnalyzeMatrix("w", values.Select(v => (float)v).ToArray(), m, n,
            new SpectrumOptions { Precision = SpectrumPrecision.Float64, Solver = SpectralSolverKind.Gram, KeepEigenvalues = true });

        var eigenvalues = layer.Eigenvalues!.OrderDescending().ToArray();
        for (int i = 0; i < m; i += 97)
        {
            double expected = (double)(m - i) * (m - i);
            Assert.True(Math.Abs(eigenvalues[i] - expected) <= 1e-5 * expected, $"λ_{i} = {eigenvalues[i]}, expected {expected}");
        }
    }
}
