using TorchSharp;
using WeightSpace.Analysis.Spectra;
using WeightSpace.Formats.Peft;
using static TorchSharp.torch;

namespace WeightSpace.Analysis.Lora;

/// <summary>Analyses what an adapter changes in its base, one module materialised at a time: ‖ΔW‖, ‖ΔW‖/‖W‖, ΔW's
/// effective rank (from the factors alone), and intruder dimensions of W + ΔW against the base's singular vectors (the
/// LoRA-versus-full-fine-tuning signature of Shuttleworth et al. 2024, <see href="https://arxiv.org/abs/2410.21228"/>).</summary>
public static partial class LoraAnalysis
{
    [GeneratedRegex(@"(?:^|\.)(?:layers|h|blocks|layer)\.(\d+)\.")]
    private static partial Regex LayerIndex();

    /// <summary>The analysis of <paramref name="adapterPath"/> over <paramref name="basePath"/>.</summary>
    /// <param name="basePath">The base model.</param>
    /// <param name="adapterPath">A PEFT adapter folder.</param>
    /// <param name="subspaceRank">How many of W + ΔW's leading singular vectors are checked for intruders (default 10, as spectrum diff).</param>
    /// <param name="intruderThreshold">An intruder's largest |cos| with every base singular vector is below this (default 0.5).</param>
    /// <param name="ct">Checked between modules.</param>
    /// <returns>Per module (adapter order), and per layer sorted by relative change, largest first.</returns>
    /// <exception cref="InvalidAdapterException">The adapter is invalid or does not fit the base.</exception>
    public static (IReadOnlyList<LoraModuleAnalysis> Modules, IReadOnlyList<LoraLayerChange> Layers) Analyze(string basePath, string adapterPath,
        int subspaceRank = 10, double intruderThreshold = 0.5, CancellationToken ct = default)
    {
        using var baseModel = Checkpoint.Open(basePath);
        using var adapter = PeftAdapter.Open(adapterPath);
        var bound = BoundAdapter.Bind(adapter, baseModel);
        var modules = new List<LoraModuleAnalysis>();
        foreach (var module in bound.Modules)
        {
            ct.ThrowIfCancellationRequested();
            modules.Add(AnalyzeModule(baseModel, adapter.Store, module, subspaceRank, intruderThreshold));
        }
        var layers = modules.Where(m => m.Layer is not null).GroupBy(m => m.Layer!.Value).Select(g =>
        {
            double d = Math.Sqrt(g.Sum(m => m.DeltaNorm * m.DeltaNorm)), w = Math.Sqrt(g.Sum(m => m.BaseNorm * m.BaseNorm));
            return new LoraLayerChange(g.Key, d, w > 0 ? d / w : double.PositiveInfinity, g.Sum(m => m.Intruders.Count));
        }).OrderByDescending(l => l.RelativeChange).ToList();
        return (modules, layers);
    }

    private static LoraModuleAnalysis AnalyzeModule(TensorStore baseModel, TensorStore adapter, BoundModule module, int subspaceRank, double threshold)
    {
        var m = module.Lora;
        double[] sigma;
        using (var scope = torch.NewDisposeScope())
        {
            var b = LoraMath.Load(adapter, m.B).to_type(ScalarType.Float64).mul(m.Scale);
            var a = LoraMath.Load(adapter, m.A).to_type(ScalarType.Float64);
            sigma = LowRank.OfProduct(b, a).S.data<double>().ToArray();
        }
        double deltaNorm = Math.Sqrt(sigma.Sum(s => s * s));
        var w = baseModel.ReadDouble(module.BaseWeight.Name);
        double baseNorm = Math.Sqrt(w.Sum(x => x * x));
        var delta = LoraMath.Delta(adapter, module, 1);
        var tuned = new double[w.Length];
        for (int i = 0; i < w.Length; i++) tuned[i] = w[i] + delta[i];
        // Intruders are compared in the [out, in] orientation; a transposed (fan_in_fan_out, embedding) weight is compared as stored.
        var shape = module.BaseWeight.Shape;
        var options = SpectrumOptions.Default;
        LayerMatrix Matrix(double[] values) => new(module.BaseWeight.Name, "dense", shape.ToArray(), shape[0], shape[1], 1, 1, null, null, values, options);
        var (_, maxCos, top, k) = SpectralSolver.CompareSubspaces(Matrix(tuned), Matrix(w), subspaceRank, null);
        var intruders = new List<IntruderDimension>();
        for (int i = 0; i < k; i++)
            if (maxCos[i] < threshold) intruders.Add(new IntruderDimension(i, top[i], maxCos[i]));
        var positive = sigma.Where(s => s > 0).Select(s => s * s).ToArray();
        var match = LayerIndex().Match(m.Module);
        return new LoraModuleAnalysis(m.Module, match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null,
            m.Rank, m.Scale, deltaNorm, baseNorm, baseNorm > 0 ? deltaNorm / baseNorm : double.PositiveInfinity,
            SpectralMetrics.EffectiveRank(positive), sigma, intruders);
    }
}
