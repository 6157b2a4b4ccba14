using ScottPlot;
using WeightSpace.Analysis.Spectra;

namespace WeightSpace.Reports.Spectra;

/// <summary>Renders the plots of a spectral analysis with ScottPlot, headless, as SVG and PNG.</summary>
/// <remarks>
/// Per analysed layer whose eigenvalues were kept: <c>NNN_name.esd</c> (log-log density of λ with the fitted power law
/// from x_min and an x_min marker), <c>NNN_name.hist</c> (histogram of log10 λ with the Marchenko–Pastur density
/// overlaid) and, with a randomized comparison, <c>NNN_name.randomized</c> (ESD of the real vs. the shuffled weights).
/// For the model: <c>model.alpha-lambda</c> (α and log10 λ_max by layer). NNN is the layer's index in the report, so
/// names stay unique and sort in checkpoint order. Every file is written to a temp file and renamed.
/// </remarks>
public static class SpectrumPlots
{
    private const int Width = 900, Height = 560;

    /// <summary>Writes every plot of <paramref name="report"/> into <paramref name="directory"/> (created if absent).</summary>
    /// <returns>The paths written, SVG and PNG for each plot.</returns>
    public static IReadOnlyList<string> WriteAll(SpectrumReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Fonts.Default = "DejaVu Sans";
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        string model = Path.GetFileName(report.Path.TrimEnd('/', '\\'));
        int width = report.Layers.Count.ToString(CultureInfo.InvariantCulture).Length;
        for (int i = 0; i < report.Layers.Count; i++)
        {
            var layer = report.Layers[i];
            if (layer.Status != LayerStatus.Ok || layer.Eigenvalues is not { } evals || !(layer.LambdaMax > 0)) continue;
            string stem = Path.Combine(directory, $"{i.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0')}_{Sanitize(layer.Name)}");
            Save(d => Esd(layer, evals, d), stem + ".esd", written);
            Save(_ => LogHistogram(layer, evals), stem + ".hist", written);
            if (layer.Randomized?.Eigenvalues is { } shuffled)
                Save(d => Randomized(layer, evals, shuffled, d), stem + ".randomized", written);
        }
        Save(d => ModelChart(report, model, d), Path.Combine(directory, "model.alpha-lambda"), written);
        return written;
    }

    /// <summary>A file-name stem from a tensor name: characters other than letters, digits, '.', '-' and '_' become '_'.</summary>
    public static string Sanitize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var sb = new StringBuilder(name.Length);
        foreach (char c in name) sb.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        string s = sb.ToString().Trim('.');
        if (s.Length > 120) s = s[..120];
        return s.Length == 0 ? "_" : s;
    }

    // build(dashes): Skia's SVG backend has no path effects (it prints "Unsupported path effect" to the process's
    // stderr and draws dashes solid), so the SVG is built without dashes and the PNG with them.
    private static void Save(Func<bool, Plot> build, string stem, List<string> written)
    {
        AtomicFile.Write(stem + ".png", (string temp) => build(true).SavePng(temp, Width, Height));
        AtomicFile.Write(stem + ".svg", (string temp) => build(false).SaveSvg(temp, Width, Height));
        written.Add(stem + ".png");
        written.Add(stem + ".svg");
    }

    /// <summary>The ESD of one layer as both <c>spectrum --plots</c> and the HTML report draw it: the density of λ on
    /// log-log axes in log-spaced bins, the fitted power law (α − 1)/x_min·(λ/x_min)^−α scaled by the tail's share of
    /// the eigenvalues from x_min to x_max, x_min and the MP bulk edge λ+.</summary>
    /// <param name="layer">An analysed layer.</param>
    /// <param name="evals">Its eigenvalues.</param>
    /// <param name="dashes">Dashed marker lines (PNG); false for SVG, whose Skia backend draws dashes solid.</param>
    public static Plot Esd(LayerSpectrum layer, IReadOnlyList<double> evals, bool dashes)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(evals);
        var positive = evals.Where(v => v > 0).ToArray();
        var plot = new Plot();
        plot.Title($"{layer.Name}: ESD, log-log ({positive.Length} eigenvalues)");
        plot.XLabel("eigenvalue λ = σ² (log scale)");
        plot.YLabel("density p(λ) (log scale)");
        if (positive.Length == 0) return plot;
        double lo = Math.Log10(positive.Min()), hi = Math.Log10(positive.Max());
        int bins = Math.Clamp((int)Math.Sqrt(positive.Length), 10, 60);
        var counts = Bin(positive.Select(Math.Log10), lo, hi, bins, out double step);
        var xs = new List<double>();
        var ys = new List<double>();
        for (int b = 0; b < bins; b++)
        {
            if (counts[b] == 0) continue;
            double left = Math.Pow(10, lo + b * step), right = Math.Pow(10, lo + (b + 1) * step);
            xs.Add(lo + (b + 0.5) * step);
            ys.Add(Math.Log10(counts[b] / (positive.Length * (right - left))));
        }
        var esd = plot.Add.Scatter(xs.ToArray(), ys.ToArray());
        esd.LegendText = "empirical density";
        esd.LineWidth = 1.5f;
        esd.MarkerSize = 6;

        if (layer is { Alpha: { } alpha, Xmin: { } xmin, Xmax: { } xmax, NumTailEvals: { } tail } && xmax > xmin)
        {
            double share = (double)tail / positive.Length;
            const int points = 40;
            var lx = new double[points];
            var ly = new double[points];
            for (int k = 0; k < points; k++)
            {
                double x = Math.Log10(xmin) + (Math.Log10(xmax) - Math.Log10(xmin)) * k / (points - 1);
                lx[k] = x;
                ly[k] = Math.Log10(share * (alpha - 1) / xmin) - alpha * (x - Math.Log10(xmin));
            }
            var line = plot.Add.ScatterLine(lx, ly);
            line.LegendText = string.Create(CultureInfo.InvariantCulture, $"power law α = {alpha:F2} (KS D = {layer.KsDistance:F3}, {tail} tail evals)");
            line.LineWidth = 2.5f;
            line.Color = Colors.OrangeRed;
            var marker = plot.Add.VerticalLine(Math.Log10(xmin));
            marker.LegendText = string.Create(CultureInfo.InvariantCulture, $"x_min = {xmin:G3}");
            marker.LinePattern = dashes ? LinePattern.Dashed : LinePattern.Solid;
            marker.Color = Colors.Gray;
        }
        if (layer.MpLambdaPlus is { } plus && plus > 0)
        {
            var edge = plot.Add.VerticalLine(Math.Log10(plus));
            edge.LegendText = string.Create(CultureInfo.InvariantCulture, $"MP bulk edge λ+ = {plus:G3}");
            edge.LinePattern = dashes ? LinePattern.Dotted : LinePattern.Solid;
            edge.Color = Colors.SeaGreen;
        }
        LogAxis(plot.Axes.Bottom);
        LogAxis(plot.Axes.Left);
        plot.ShowLegend(Alignment.LowerLeft);
        return plot;
    }

    /// <summary>Histogram of log10 λ; the MP density f(λ) becomes counts per bin as NumEvals·f(λ)·λ·ln 10·Δ.</summary>
    private static Plot LogHistogram(LayerSpectrum layer, IReadOnlyList<double> evals)
    {
        var logs = evals.Where(v => v > 0).Select(Math.Log10).ToArray();
        var plot = new Plot();
        plot.Title($"{layer.Name}: histogram of log10 λ");
        plot.XLabel("log10 λ  (λ = σ², eigenvalue of WᵀW)");
        plot.YLabel("eigenvalues per bin");
        if (logs.Length == 0) return plot;
        double lo = logs.Min(), hi = logs.Max();
        int bins = Math.Clamp((int)Math.Sqrt(logs.Length) * 2, 10, 100);
        var counts = Bin(logs, lo, hi, bins, out double step);
        var centres = Enumerable.Range(0, bins).Select(b => lo + (b + 0.5) * step).ToArray();
        var bars = plot.Add.Bars(centres, counts);
        foreach (var bar in bars.Bars)
        {
            bar.Size = step;
            bar.LineWidth = 0;
        }
        bars.LegendText = $"ESD ({logs.Length} eigenvalues)";

        if (layer is { MpVariance: { } variance, MpLambdaPlus: { } plus, MpLambdaMinus: { } minus, N: { } n, M: { } m, NumEvals: { } count }
            && variance > 0 && plus > 0)
        {
            double from = Math.Max(minus > 0 ? Math.Log10(minus) : double.NegativeInfinity, lo - 3 * step);
            double to = Math.Log10(plus);
            if (to > from)
            {
                const int points = 300;
                var mx = new double[points];
                var my = new double[points];
                for (int k = 0; k < points; k++)
                {
                    double x = from + (to - from) * k / (points - 1);
                    double lambda = Math.Pow(10, x);
                    mx[k] = x;
                    my[k] = count * MarchenkoPastur.Density(lambda, variance, n, m) * lambda * Math.Log(10) * step;
                }
                var mp = plot.Add.ScatterLine(mx, my);
                mp.LegendText = string.Create(CultureInfo.InvariantCulture, $"Marchenko–Pastur fit (σ² = {variance:G3}, {layer.NumSpikes} spikes)");
                mp.LineWidth = 2.5f;
                mp.Color = Colors.OrangeRed;
            }
        }
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }

    private static Plot Randomized(LayerSpectrum layer, IReadOnlyList<double> evals, IReadOnlyList<double> shuffled, bool dashes)
    {
        var real = evals.Where(v => v > 0).Select(Math.Log10).ToArray();
        var rand = shuffled.Where(v => v > 0).Select(Math.Log10).ToArray();
        var r = layer.Randomized!;
        var plot = new Plot();
        plot.Title(string.Create(CultureInfo.InvariantCulture,
            $"{layer.Name}: ESD vs. randomized ({r.NumTraps} traps, rand distance {r.RandDistance:F3})"));
        plot.XLabel("log10 λ  (λ = σ²)");
        plot.YLabel("eigenvalues per bin");
        if (real.Length == 0 || rand.Length == 0) return plot;
        double lo = Math.Min(real.Min(), rand.Min()), hi = Math.Max(real.Max(), rand.Max());
        int bins = Math.Clamp((int)Math.Sqrt(real.Length) * 2, 10, 100);
        foreach (var (values, label, color) in new[] { (real, "trained weights", Colors.SteelBlue), (rand, "entries shuffled (seeded)", Colors.OrangeRed) })
        {
            var counts = Bin(values, lo, hi, bins, out double step);
            var centres = Enumerable.Range(0, bins).Select(b => lo + (b + 0.5) * step).ToArray();
            var line = plot.Add.Scatter(centres, counts);
            line.ConnectStyle = ConnectStyle.StepVertical;
            line.MarkerSize = 0;
            line.LineWidth = 2;
            line.Color = color;
            line.LegendText = label;
        }
        var real_max = plot.Add.VerticalLine(Math.Log10(layer.LambdaMax!.Value));
        real_max.LegendText = string.Create(CultureInfo.InvariantCulture, $"λ_max trained = {layer.LambdaMax:G3}");
        real_max.Color = Colors.SteelBlue;
        real_max.LinePattern = dashes ? LinePattern.Dashed : LinePattern.Solid;
        if (r.LambdaMax > 0)
        {
            var rand_max = plot.Add.VerticalLine(Math.Log10(r.LambdaMax));
            rand_max.LegendText = string.Create(CultureInfo.InvariantCulture, $"λ_max shuffled = {r.LambdaMax:G3}");
            rand_max.Color = Colors.OrangeRed;
            rand_max.LinePattern = dashes ? LinePattern.Dashed : LinePattern.Solid;
        }
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(Alignment.UpperLeft);
        return plot;
    }

    private static Plot ModelChart(SpectrumReport report, string model, bool dashes)
    {
        var plot = new Plot();
        var ok = report.Layers.Where(l => l.Status == LayerStatus.Ok).ToArray();
        plot.Title($"{model}: α and log10 λ_max by layer ({ok.Length} analysed of {report.Layers.Count} tensors)");
        plot.XLabel("layer index (analysed layers, checkpoint order)");
        plot.YLabel("power-law exponent α");
        plot.Axes.Right.Label.Text = "log10 λ_max";
        var alphaX = new List<double>();
        var alphaY = new List<double>();
        var normX = new List<double>();
        var normY = new List<double>();
        for (int i = 0; i < ok.Length; i++)
        {
            if (ok[i].Alpha is { } a) { alphaX.Add(i); alphaY.Add(a); }
            if (ok[i].LogSpectralNorm is { } s) { normX.Add(i); normY.Add(s); }
        }
        if (alphaX.Count > 0)
        {
            var alpha = plot.Add.Scatter(alphaX.ToArray(), alphaY.ToArray());
            alpha.LegendText = "α (left axis)";
            alpha.Color = Colors.SteelBlue;
            alpha.MarkerSize = 7;
            alpha.LineWidth = 1;
        }
        if (normX.Count > 0)
        {
            var norm = plot.Add.Scatter(normX.ToArray(), normY.ToArray());
            norm.LegendText = "log10 λ_max (right axis)";
            norm.Color = Colors.OrangeRed;
            norm.MarkerShape = MarkerShape.FilledSquare;
            norm.MarkerSize = 6;
            norm.LineWidth = 1;
            norm.LinePattern = dashes ? LinePattern.Dashed : LinePattern.Solid;
            norm.Axes.YAxis = plot.Axes.Right;
        }
        var over = plot.Add.HorizontalLine(2);
        over.LegendText = "α = 2 (below: over-trained)";
        over.LinePattern = dashes ? LinePattern.Dotted : LinePattern.Solid;
        over.Color = Colors.Gray;
        var under = plot.Add.HorizontalLine(6);
        under.LegendText = "α = 6 (above: under-trained)";
        under.LinePattern = dashes ? LinePattern.Dashed : LinePattern.Solid;
        under.Color = Colors.Gray;
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>Counts of values in <paramref name="bins"/> equal bins over [lo, hi]; the top edge belongs to the last bin.</summary>
    private static double[] Bin(IEnumerable<double> values, double lo, double hi, int bins, out double step)
    {
        if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }
        step = (hi - lo) / bins;
        var counts = new double[bins];
        foreach (double v in values) counts[Math.Clamp((int)((v - lo) / step), 0, bins - 1)]++;
        return counts;
    }

    /// <summary>An axis holding log10 values, labelled as powers of ten.</summary>
    private static void LogAxis(IAxis axis)
    {
        axis.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            LabelFormatter = PowerOfTen,
        };
    }

    private static string PowerOfTen(double exponent)
    {
        if (Math.Abs(exponent - Math.Round(exponent)) < 1e-9)
        {
            var sb = new StringBuilder("10");
            foreach (char c in ((int)Math.Round(exponent)).ToString(CultureInfo.InvariantCulture))
                sb.Append(c == '-' ? '⁻' : "⁰¹²³⁴⁵⁶⁷⁸⁹"[c - '0']);
            return sb.ToString();
        }
        return Math.Pow(10, exponent).ToString("G3", CultureInfo.InvariantCulture);
    }
}
