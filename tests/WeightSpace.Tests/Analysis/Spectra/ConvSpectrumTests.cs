using MathNet.Numerics.LinearAlgebra;
using WeightSpace.Analysis.Spectra;

namespace WeightSpace.Tests.Analysis.Spectra;

public sealed class ConvSpectrumTests
{
    private static readonly SpectrumOptions Operator = new()
    {
        ConvMode = ConvSpectrumMode.Operator, Precision = SpectrumPrecision.Float64, MinDimension = 1,
    };

    /// <summary>The convolution (PyTorch cross-correlation, circular padding) on an n×n input written out as a dense
    /// (c_out·n²)×(c_in·n²) doubly-block-circulant matrix: y[o,p,q] = Σ K[o,c,i,j]·x[c,(p+i) mod n,(q+j) mod n].</summary>
    private static Matrix<double> DenseConvolution(float[] kernel, int cout, int cin, int kh, int kw, int n)
    {
        var a = Matrix<double>.Build.Dense(cout * n * n, cin * n * n);
        for (int o = 0; o < cout; o++)
            for (int c = 0; c < cin; c++)
                for (int i = 0; i < kh; i++)
                    for (int j = 0; j < kw; j++)
                        for (int p = 0; p < n; p++)
                            for (int q = 0; q < n; q++)
                                a[(o * n + p) * n + q, (c * n + (p + i) % n) * n + (q + j) % n] +=
                                    kernel[((o * cin + c) * kh + i) * kw + j];
        return a;
    }

    private static double[] OperatorSingularValues(InMemoryTensorStore store, SpectrumOptions options) =>
        SpectrumAnalyzer.SingularValues(SpectrumAnalyzer.LayerMatrices(store, options).Single()).OrderDescending().ToArray();

    [Theory]
    [InlineData(2, 3, 3, 3, 5)]
    [InlineData(3, 2, 3, 3, 2)]   // kernel larger than the input: taps wrap around
    [InlineData(4, 3, 1, 1, 3)]
    public void OperatorSpectrum_EqualsDenseDoublyBlockCirculantSvd(int cout, int cin, int kh, int kw, int n)
    {
        var kernel = SpectraFixtures.Gaussian(cout, cin * kh * kw, seed: cout * 100 + n);
        var store = new InMemoryTensorStore().Add("conv.weight", kernel, cout, cin, kh, kw);
        // Independent truth: MathNet's managed SVD of the dense operator.
        var expected = DenseConvolution(kernel, cout, cin, kh, kw, n).Svd(computeVectors: false).S.ToArray();

        var actual = OperatorSingularValues(store, Operator with { OperatorInputSize = n });

        Assert.Equal(Math.Min(cout, cin) * n * n, actual.Length);
        for (int i = 0; i < actual.Length; i++) Assert.Equal(expected[i], actual[i], 9);
        var layer = SpectrumAnalyzer.Analyze(store, Operator with { OperatorInputSize = n }, cancellationToken: TestContext.Current.CancellationToken).Layers.Single();
        Assert.Equal(expected[0], layer.SigmaMax!.Value, 9);   // the operator norm
        Assert.Equal(n * n, layer.MatrixCount);
    }

    [Fact]
    public void TensorFlowLayout_GivesTorchLayoutSpectrum()
    {
        int cout = 3, cin = 2, kh = 3, kw = 2;
        var torchKernel = SpectraFixtures.Gaussian(cout, cin * kh * kw, seed: 5);
        var tfKernel = new float[torchKernel.Length];   // [kh, kw, in, out]
        for (int o = 0; o < cout; o++)
            for (int c = 0; c < cin; c++)
                for (int i = 0; i < kh; i++)
                    for (int j = 0; j < kw; j++)
                        tfKernel[((i * kw + j) * cin + c) * cout + o] = torchKernel[((o * cin + c) * kh + i) * kw + j];

        foreach (var mode in new[] { ConvSpectrumMode.Operator, ConvSpectrumMode.WeightWatcher })
        {
            var expected = OperatorSingularValues(new InMemoryTensorStore().Add("k", torchKernel, cout, cin, kh, kw), Operator with { ConvMode = mode, OperatorInputSize = 4 });
            var actual = OperatorSingularValues(new InMemoryTensorStore().Add("k", tfKernel, kh, kw, cin, cout),
                Operator with { ConvMode = mode, OperatorInputSize = 4, Layout = WeightLayout.TensorFlow });
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 9);
        }
    }

    [Fact]
    public void WeightWatcherSlices_PooledScaledByHalf_UnpooledByKSquaredOverTwo()
    {
        // Slice (i, j) of a 12×12×2×2 kernel is (1 + 2i + j)·I, so its singular values are all 1 + 2i + j.
        int c = 12;
        var kernel = new float[c * c * 4];
        for (int o = 0; o < c; o++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                    kernel[((o * c + o) * 2 + i) * 2 + j] = 1 + 2 * i + j;
        var store = new InMemoryTensorStore().Add("conv.weight", kernel, c, c, 2, 2);

        var pooled = SpectrumAnalyzer.Analyze(store, cancellationToken: TestContext.Current.CancellationToken).Layers.Single();
        Assert.Equal("conv2d", pooled.Kind);
        Assert.Equal(4, pooled.MatrixCount);
        Assert.Equal(48, pooled.NumEvals);
        var expectedPooled = new[] { 1.0, 4, 9, 16 }.SelectMany(s => Enumerable.Repeat(s / 2, c)).ToArray();
        Assert.Equal(expectedPooled, pooled.Eigenvalues!.Select(v => Math.Round(v, 4)));

        var slices = SpectrumAnalyzer.Analyze(store, new SpectrumOptions { PoolConvSlices = false }, cancellationToken: TestContext.Current.CancellationToken).Layers;
        Assert.Equal(["conv.weight[0,0]", "conv.weight[0,1]", "conv.weight[1,0]", "conv.weight[1,1]"], slices.Select(l => l.Name));
        for (int s = 0; s < 4; s++)
        {
            double sigma = 1 + s;
            Assert.Equal("conv2d-slice", slices[s].Kind);
            Assert.Equal(sigma * sigma * 4 / 2, slices[s].LambdaMax!.Value, 4);   // k² = kh·kw = 4
        }

        var unscaled = SpectrumAnalyzer.Analyze(store, new SpectrumOptions { ConvEigenvalueScaling = false }, cancellationToken: TestContext.Current.CancellationToken).Layers.Single();
        Assert.Equal(16, unscaled.LambdaMax!.Value, 4);
    }
}
