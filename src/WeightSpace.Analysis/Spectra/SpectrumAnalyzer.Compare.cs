namespace WeightSpace.Analysis.Spectra;

public static partial class SpectrumAnalyzer
{
    /// <summary>Compares a fine-tuned checkpoint with its base, layer by layer (tensors matched by name).</summary>
    /// <remarks>
    /// Both sides are analysed with the same options (WeightWatcher conv slices always pooled, no eigenvalues kept).
    /// The singular subspaces compare the left singular vectors (output space) of each weight unfolded to
    /// [out, in·kh·kw] in canonical order, in float64. Two tensors are in memory at a time.
    /// </remarks>
    /// <returns>One entry per tensor of <paramref name="fineTuned"/>, then one per tensor only
    /// <paramref name="baseline"/> has; unmatched or unanalysable tensors carry status <c>skipped</c> and the reason.</returns>
    /// <exception cref="WeightSpaceException">An option is invalid.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static SpectralDiffReport Compare(TensorStore fineTuned, TensorStore baseline, SpectrumOptions? options = null,
        IProgress<SpectrumProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fineTuned);
        ArgumentNullException.ThrowIfNull(baseline);
        var opts = (options ?? SpectrumOptions.Default) with { PoolConvSlices = true, KeepEigenvalues = false };
        var planner = new LayerPlanner(opts);
        var tensors = fineTuned.Tensors;
        var results = new LayerSpectralDiff[tensors.Count];
        int done = 0;
        using (TorchThreads(opts))
        {
            Parallel.For(0, tensors.Count,
                new ParallelOptions { MaxDegreeOfParallelism = opts.MaxDegreeOfParallelism, CancellationToken = cancellationToken },
                i =>
                {
                    results[i] = CompareTensor(fineTuned, baseline, tensors[i], planner);
                    progress?.Report(new SpectrumProgress(Interlocked.Increment(ref done), tensors.Count, tensors[i].Name));
                });
        }
        var onlyInBase = baseline.Tensors.Where(t => !fineTuned.Contains(t.Name)).Select(t => new LayerSpectralDiff
        {
            Name = t.Name, Shape = t.Shape.ToArray(), Status = LayerStatus.Skipped, Reason = "absent from the fine-tuned checkpoint",
        });
        var layers = results.Concat(onlyInBase).ToArray();
        var compared = layers.Where(l => l.Status == LayerStatus.Ok).ToArray();
        return new SpectralDiffReport(fineTuned.Path, baseline.Path, layers,
            SpectrumSummaries.Of(compared, l => l.DeltaAlpha).Mean,
            SpectrumSummaries.Of(compared, l => l.SubspaceOverlap).Mean,
            compared.Sum(l => l.IntruderCount ?? 0));
    }

    private static LayerSpectralDiff CompareTensor(TensorStore fineTuned, TensorStore baseline, TensorInfo info, LayerPlanner planner)
    {
        var shape = info.Shape.ToArray();
        LayerSpectralDiff Skip(string reason) => new() { Name = info.Name, Shape = shape, Status = LayerStatus.Skipped, Reason = reason };
        if (!baseline.TryGetInfo(info.Name, out var baseInfo)) return Skip("absent from the baseline");
        if (baseInfo.Shape != info.Shape) return Skip($"shape {info.Shape} differs from the baseline's {baseInfo.Shape}");
        var (plan, skipped) = planner.Plan(info);
        if (plan is null) return Skip(skipped!.Reason!);
        try
        {
            var ft = planner.Load(fineTuned, info, plan);
            var ftSpectrum = AnalyzeLoaded(ft)[0];
            var bs = planner.Load(baseline, baseInfo, plan);
            var baseSpectrum = AnalyzeLoaded(bs)[0];
            var (cosines, maxCos, sigma, k) = SpectralSolver.CompareSubspaces(ft, bs, planner.Options.SubspaceRank, planner.Options.IntruderBaseRank);
            var intruders = new List<IntruderDimension>();
            for (int i = 0; i < k; i++)
                if (maxCos[i] < planner.Options.IntruderThreshold) intruders.Add(new IntruderDimension(i, sigma[i], maxCos[i]));
            double overlap = 0;
            foreach (double c in cosines) overlap += c * c;
            return new LayerSpectralDiff
            {
                Name = info.Name, Shape = shape, Status = LayerStatus.Ok,
                FineTuned = ftSpectrum, Baseline = baseSpectrum,
                DeltaAlpha = ftSpectrum.Alpha - baseSpectrum.Alpha,
                DeltaLambdaMax = ftSpectrum.LambdaMax - baseSpectrum.LambdaMax,
                DeltaSigmaMax = ftSpectrum.SigmaMax - baseSpectrum.SigmaMax,
                DeltaStableRank = ftSpectrum.StableRank - baseSpectrum.StableRank,
                DeltaEffectiveRank = ftSpectrum.EffectiveRank - baseSpectrum.EffectiveRank,
                SubspaceRank = k,
                SubspaceOverlap = overlap / k,
                PrincipalCosines = cosines,
                Intruders = intruders,
                IntruderCount = intruders.Count,
            };
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new LayerSpectralDiff { Name = info.Name, Shape = shape, Status = LayerStatus.Failed, Reason = $"{e.GetType().Name}: {e.Message}" };
        }
    }
}
