namespace WeightSpace.Analysis.Spectra;

/// <summary>One layer's weights read and prepared for the SVD exactly as <see cref="SpectrumAnalyzer.Analyze"/> does:
/// what a benchmark times against bare <see cref="SpectrumAnalyzer.SingularValues(LayerMatrix)"/>.</summary>
/// <remarks>Holds the tensor's values in memory (float32 or float64 per <see cref="SpectrumOptions.Precision"/>); get
/// them one at a time from <see cref="SpectrumAnalyzer.LayerMatrices"/> to stay streaming.</remarks>
public sealed class LayerMatrix
{
    internal LayerMatrix(string name, string kind, IReadOnlyList<long> shape, long outChannels, long inChannels,
        long kernelHeight, long kernelWidth, int[]? toCanonical, float[]? single, double[]? values, SpectrumOptions options)
    {
        Name = name;
        Kind = kind;
        Shape = shape;
        OutChannels = outChannels;
        InChannels = inChannels;
        KernelHeight = kernelHeight;
        KernelWidth = kernelWidth;
        ToCanonical = toCanonical;
        Single = single;
        Double = values;
        Options = options;
        long cols = ColumnsOf(kind, inChannels, kernelHeight, kernelWidth, options);
        N = Math.Max(outChannels, cols);
        M = Math.Min(outChannels, cols);
        var (h, w) = OperatorGrid;
        MatrixCount = kind == "dense" || options.ConvMode == ConvSpectrumMode.Unfolded ? 1
            : options.ConvMode == ConvSpectrumMode.Operator ? checked((int)(h * w))
            : checked((int)(kernelHeight * kernelWidth));
    }

    /// <summary>Tensor name.</summary>
    public string Name { get; }

    /// <summary><c>dense</c>, <c>conv1d</c> or <c>conv2d</c>.</summary>
    public string Kind { get; }

    /// <summary>Shape as stored.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>Columns of each analysed matrix before orientation: c_in, or c_in·kh·kw for an unfolded conv.</summary>
    internal static long ColumnsOf(string kind, long inChannels, long kernelHeight, long kernelWidth, SpectrumOptions options) =>
        kind != "dense" && options.ConvMode == ConvSpectrumMode.Unfolded ? checked(inChannels * kernelHeight * kernelWidth) : inChannels;

    /// <summary>N: the larger side of each analysed matrix (rows once rows ≥ cols).</summary>
    public long N { get; }

    /// <summary>M: the smaller side of each analysed matrix, the eigenvalues per matrix.</summary>
    public long M { get; }

    /// <summary>Matrices whose singular values make up the spectrum: 1 dense, kh·kw WeightWatcher slices, or the
    /// number of DFT frequencies in operator mode.</summary>
    public int MatrixCount { get; }

    /// <summary>Elements of the tensor.</summary>
    public long ElementCount => Single?.LongLength ?? Double!.LongLength;

    internal long OutChannels { get; }
    internal long InChannels { get; }
    internal long KernelHeight { get; }
    internal long KernelWidth { get; }
    /// <summary>Permutation from the stored to the canonical [out, in, kh, kw] order; null when already canonical.</summary>
    internal int[]? ToCanonical { get; }
    internal float[]? Single { get; }
    internal double[]? Double { get; }
    internal SpectrumOptions Options { get; }

    /// <summary>The n₁×n₂ input grid of the operator spectrum (conv1d: n×1).</summary>
    internal (long Height, long Width) OperatorGrid
    {
        get
        {
            if (Kind == "dense") return (1, 1);
            long n = Options.OperatorInputSize ?? Math.Max(KernelHeight, KernelWidth);
            return Kind == "conv1d" ? (n, 1) : (n, n);
        }
    }

    internal LayerMatrix WithValues(float[]? single, double[]? values) =>
        new(Name, Kind, Shape, OutChannels, InChannels, KernelHeight, KernelWidth, ToCanonical, single, values, Options);
}
