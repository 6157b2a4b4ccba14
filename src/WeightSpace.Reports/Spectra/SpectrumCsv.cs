using WeightSpace.Analysis.Spectra;

namespace WeightSpace.Reports.Spectra;

/// <summary>Writes spectral reports as CSV (RFC 4180: comma-separated, CRLF line ends, fields holding a comma, quote or
/// line break quoted with quotes doubled), one row per layer with the JSON document's column names. Numbers use the
/// invariant culture and the shortest round-trip form; an undefined metric is an empty field.</summary>
public static class SpectrumCsv
{
    private static readonly (string Header, Func<LayerSpectrum, object?> Value)[] LayerColumns =
    [
        ("name", l => l.Name), ("shape", l => FormatShape(l.Shape)), ("kind", l => l.Kind), ("status", l => l.Status.ToWord()),
        ("reason", l => l.Reason), ("n", l => l.N), ("m", l => l.M), ("q", l => l.Q), ("matrix_count", l => l.MatrixCount),
        ("num_evals", l => l.NumEvals), ("frobenius_norm", l => l.FrobeniusNorm), ("sigma_max", l => l.SigmaMax),
        ("lambda_max", l => l.LambdaMax), ("log_spectral_norm", l => l.LogSpectralNorm), ("log_norm", l => l.LogNorm),
        ("stable_rank", l => l.StableRank), ("effective_rank", l => l.EffectiveRank), ("numerical_rank", l => l.NumericalRank),
        ("matrix_entropy", l => l.MatrixEntropy), ("alpha", l => l.Alpha), ("alpha_estimator", l => l.AlphaEstimator), ("solver", l => l.Solver), ("alpha_weighted", l => l.AlphaWeighted),
        ("log_alpha_norm", l => l.LogAlphaNorm), ("xmin", l => l.Xmin), ("xmax", l => l.Xmax), ("ks_distance", l => l.KsDistance),
        ("sigma_alpha", l => l.SigmaAlpha), ("num_tail_evals", l => l.NumTailEvals), ("num_pl_spikes", l => l.NumPlSpikes), ("fingers_clipped", l => l.FingersClipped),
        ("mp_variance", l => l.MpVariance), ("mp_lambda_minus", l => l.MpLambdaMinus), ("mp_lambda_plus", l => l.MpLambdaPlus),
        ("mp_softrank", l => l.MpSoftRank), ("num_spikes", l => l.NumSpikes), ("warning", l => l.Warning),
        ("rand_lambda_max", l => l.Randomized?.LambdaMax), ("rand_mp_lambda_plus", l => l.Randomized?.MpLambdaPlus),
        ("rand_num_traps", l => l.Randomized?.NumTraps), ("rand_distance", l => l.Randomized?.RandDistance),
    ];

    private static readonly (string Header, Func<LayerSpectralDiff, object?> Value)[] DiffColumns =
    [
        ("name", d => d.Name), ("shape", d => FormatShape(d.Shape)), ("status", d => d.Status.ToWord()), ("reason", d => d.Reason),
        ("delta_alpha", d => d.DeltaAlpha), ("delta_lambda_max", d => d.DeltaLambdaMax), ("delta_sigma_max", d => d.DeltaSigmaMax),
        ("delta_stable_rank", d => d.DeltaStableRank), ("delta_effective_rank", d => d.DeltaEffectiveRank),
        ("subspace_rank", d => d.SubspaceRank), ("subspace_overlap", d => d.SubspaceOverlap), ("intruder_count", d => d.IntruderCount),
        ("alpha_fine_tuned", d => d.FineTuned?.Alpha), ("alpha_baseline", d => d.Baseline?.Alpha),
        ("lambda_max_fine_tuned", d => d.FineTuned?.LambdaMax), ("lambda_max_baseline", d => d.Baseline?.LambdaMax),
    ];

    /// <summary>The column names of a layer row, in order.</summary>
    public static IReadOnlyList<string> LayerHeaders { get; } = LayerColumns.Select(c => c.Header).ToArray();

    /// <summary>Writes a header row and one row per layer.</summary>
    public static void Write(TextWriter output, SpectrumReport report)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(report);
        WriteRows(output, LayerColumns, report.Layers);
    }

    /// <summary>Writes a header row and one row per layer of a spectral diff.</summary>
    public static void Write(TextWriter output, SpectralDiffReport diff)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(diff);
        WriteRows(output, DiffColumns, diff.Layers);
    }

    /// <summary>Writes <paramref name="report"/> to <paramref name="path"/> (UTF-8, no BOM) through a temp file and a rename.</summary>
    public static void WriteFile(string path, SpectrumReport report) => WriteFile(path, w => Write(w, report));

    /// <summary>Writes <paramref name="diff"/> to <paramref name="path"/> (UTF-8, no BOM) through a temp file and a rename.</summary>
    public static void WriteFile(string path, SpectralDiffReport diff) => WriteFile(path, w => Write(w, diff));

    /// <summary>One field as RFC 4180 wants it: quoted when it holds a comma, a quote or a line break.</summary>
    public static string Escape(string field) => CsvWriter.Quote(field);

    private static void WriteFile(string path, Action<TextWriter> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.Write(path, (Stream stream) =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            write(writer);
        });
    }

    // Through the shared CsvWriter: the same quoting, CRLF and round-trip numbers as every other CSV WeightSpace writes.
    private static void WriteRows<T>(TextWriter output, (string Header, Func<T, object?> Value)[] columns, IEnumerable<T> rows) =>
        CsvWriter.Write(output, [.. columns.Select(c => c.Header)], rows.Select(row => (IReadOnlyList<object?>)[.. columns.Select(c => c.Value(row))]));

    private static string FormatShape(IReadOnlyList<long> shape) =>
        string.Join('x', shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
}
