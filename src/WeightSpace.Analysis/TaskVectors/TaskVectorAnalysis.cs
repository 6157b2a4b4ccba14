using System.Numerics.Tensors;
using static TorchSharp.torch;

namespace WeightSpace.Analysis.TaskVectors;

/// <summary>Task vectors Δᵢ = θᵢ − θ₀ (Ilharco et al. 2023, §2): norms, relative change, pairwise cosine and sign
/// agreement, concentration of |Δ| and spectra, per tensor, per layer group and for the whole model.</summary>
/// <remarks>
/// One streaming pass: for each tensor, the base's and every model's copy are read as float32, analysed and released, so
/// (models + 1) tensors are resident at a time; sums across tensors are float64. Layer group: the tensor name up to and
/// including its layer index (<c>model.layers.3.</c>, the first all-digit dot component); a name without one is grouped by
/// dropping its last component (<c>fc1.weight</c> → <c>fc1</c>). Non-float tensors are not analysed.
/// </remarks>
public static class TaskVectorAnalysis
{
    /// <summary>Analyses <paramref name="fineTuned"/> against <paramref name="baseModel"/>.</summary>
    /// <exception cref="ModelMismatchException">Names, shapes or dtypes differ (all listed) and
    /// <see cref="TaskVectorOptions.SkipMismatched"/> is false. Nothing has been read yet.</exception>
    /// <exception cref="ArgumentException">No fine-tuned model was given.</exception>
    public static TaskVectorReport Analyze(TensorStore baseModel, IReadOnlyList<TensorStore> fineTuned, TaskVectorOptions? options = null,
        IProgress<int>? progress = null, CancellationToken ct = default)
    {
        options ??= new TaskVectorOptions();
        var (tensors, mismatches) = Tensors(baseModel, fineTuned, options);
        bool histograms = options.TopFractions.Count > 0;
        var (perTensor, groups, whole) = Assemble(tensors.Select(t => t.Name).ToList(), fineTuned.Count, options.TopFractions,
            i => AnalyzeTensor(tensors[i], baseModel, fineTuned, options, histograms), progress, ct);
        return new TaskVectorReport(baseModel.Path, fineTuned.Select(f => f.Path).ToArray(), perTensor, groups, whole,
            options.SkipMismatched ? mismatches : []);
    }

    /// <summary>The tensors the analysis covers (floating-point, matching in every model), in the base's order, and the
    /// mismatches; throws when there are mismatches and they are not to be skipped.</summary>
    internal static (IReadOnlyList<TensorInfo> Tensors, IReadOnlyList<TensorMismatch> Mismatches) Tensors(TensorStore baseModel,
        IReadOnlyList<TensorStore> fineTuned, TaskVectorOptions options)
    {
        if (fineTuned.Count == 0) throw new ArgumentException("At least one fine-tuned model is needed.", nameof(fineTuned));
        var mismatches = ModelCompatibility.Check(baseModel, fineTuned);
        if (mismatches.Count > 0 && !options.SkipMismatched)
            throw new ModelMismatchException(mismatches.Select(p => p.ToString()).ToArray());
        var bad = mismatches.Select(m => m.Tensor).ToHashSet(StringComparer.Ordinal);
        return (baseModel.Tensors.Where(t => !bad.Contains(t.Name) && t.DType.IsFloatingPoint()).ToList(), mismatches);
    }

    /// <summary>Per-tensor results and the group and whole-model aggregates, from each tensor's summary and
    /// contribution: the single run computes them here, a sharded run's combine reads them from the parts. Either way
    /// the contributions are added in the same order, so the aggregates are the same to the bit.</summary>
    internal static (DeltaSummary[] Tensors, List<DeltaSummary> Groups, DeltaSummary Whole) Assemble(IReadOnlyList<string> tensors, int m,
        IReadOnlyList<double> fractions, Func<int, (DeltaSummary Summary, TensorContribution Contribution)> compute,
        IProgress<int>? progress, CancellationToken ct)
    {
        var groups = new List<DeltaSummary>();
        var whole = new Accumulator("*", m, fractions.Count > 0);
        // Grouped order keeps one group's histograms alive at a time; stable, so the base's order holds within a group.
        var order = tensors.Select((t, i) => (t, i, g: LayerNames.Group(t))).ToList();
        var groupOrder = order.Select(o => o.g).Distinct().Select((g, i) => (g, i)).ToDictionary(p => p.g, p => p.i);
        var results = new DeltaSummary[tensors.Count];
        Accumulator? group = null;
        int done = 0;
        foreach (var (_, index, groupName) in order.OrderBy(o => groupOrder[o.g]).ThenBy(o => o.i))
        {
            ct.ThrowIfCancellationRequested();
            if (group is null || group.Name != groupName)
            {
                if (group is not null) groups.Add(group.Finish(fractions));
                group = new Accumulator(groupName, m, fractions.Count > 0);
            }
            var (summary, contribution) = compute(index);
            results[index] = summary;
            group.Add(contribution);
            whole.Add(contribution);
            progress?.Report(++done);
        }
        if (group is not null) groups.Add(group.Finish(fractions));
        return (results, groups, whole.Finish(fractions));
    }

    /// <summary>One tensor's summary and its contribution to the aggregates.</summary>
    internal static (DeltaSummary Summary, TensorContribution Contribution) AnalyzeTensor(TensorInfo info, TensorStore baseModel,
        IReadOnlyList<TensorStore> models, TaskVectorOptions options, bool histograms)
    {
        int m = models.Count;
        var theta0 = baseModel.ReadSingle(info.Name);
        var deltas = new float[m][];
        for (int i = 0; i < m; i++)
        {
            deltas[i] = models[i].ReadSingle(info.Name);
            TensorPrimitives.Subtract(deltas[i], theta0, deltas[i]);
        }
        var contribution = TensorContribution.Of(theta0.Length, SpanMath.SumOfSquares(theta0), deltas, histograms);
        var local = new Accumulator(info.Name, m, histogram: false);
        local.Add(contribution);
        double baseSq = contribution.BaseSq;

        var modelStats = new ModelDelta[m];
        for (int i = 0; i < m; i++)
        {
            var shares = options.TopFractions.Select(f => ExactTopShare(deltas[i], f)).ToArray();
            var (erank, top) = Spectrum(info, deltas[i], options);
            double norm = Math.Sqrt(local.DeltaSq[i]);
            modelStats[i] = new ModelDelta(norm, Relative(norm, Math.Sqrt(baseSq)), shares, erank, top);
        }
        var (cos, sign, conflict) = local.Matrices();
        return (new DeltaSummary(info.Name, theta0.Length, Math.Sqrt(baseSq), modelStats, cos, sign, conflict), contribution);
    }

    internal static double ExactTopShare(float[] delta, double fraction)
    {
        double total = SpanMath.SumAbs(delta);
        long k = (long)(fraction * delta.Length);
        if (total == 0 || k <= 0) return 0;
        if (k >= delta.Length) return 1;
        var (threshold, ties) = MagnitudeSelection.KthLargest(delta, k);
        uint t = MagnitudeSelection.Key(threshold);
        double mass = 0;
        foreach (float x in delta) if (MagnitudeSelection.Key(x) > t) mass += Math.Abs(x);
        mass += ties * (double)Math.Abs(threshold);
        return mass / total;
    }

    private static (double?, double[]) Spectrum(TensorInfo info, float[] delta, TaskVectorOptions options)
    {
        if (info.Shape.Rank != 2 || options.SingularValueCount <= 0 || delta.Length == 0 || delta.Length > options.MaxSpectrumElements)
            return (null, []);
        using var scope = NewDisposeScope();
        var s = linalg.svdvals(tensor(delta, [info.Shape[0], info.Shape[1]])).to_type(ScalarType.Float64).data<double>().ToArray();
        return (EffectiveRank(s), s.Take(options.SingularValueCount).ToArray());
    }

    /// <summary>Roy &amp; Vetterli 2007, eq. 3: exp of the Shannon entropy of σ normalised to sum 1; 0 for a zero matrix.</summary>
    internal static double EffectiveRank(IReadOnlyList<double> singularValues)
    {
        double sum = singularValues.Sum();
        if (sum <= 0) return 0;
        double h = 0;
        foreach (double s in singularValues)
            if (s > 0) { double p = s / sum; h -= p * Math.Log(p); }
        return Math.Exp(h);
    }

    internal static double Relative(double deltaNorm, double baseNorm) =>
        baseNorm > 0 ? deltaNorm / baseNorm : deltaNorm > 0 ? double.PositiveInfinity : 0;

    /// <summary>float64 sums over any set of tensors: ‖θ₀‖², ‖Δᵢ‖², ⟨Δᵢ,Δⱼ⟩, sign-agreement counts, |Δ| histograms.</summary>
    private sealed class Accumulator
    {
        private readonly int _m;
        private readonly double[,] _dot;
        private readonly long[,] _agree;
        private readonly long[,] _conflict;
        private readonly MassHistogram[]? _histograms;
        private long _count;
        private double _baseSq;

        public Accumulator(string name, int models, bool histogram)
        {
            Name = name;
            _m = models;
            _dot = new double[models, models];
            _agree = new long[models, models];
            _conflict = new long[models, models];
            _histograms = histogram ? Enumerable.Range(0, models).Select(_ => new MassHistogram()).ToArray() : null;
        }

        public string Name { get; }

        public double[] DeltaSq => Enumerable.Range(0, _m).Select(i => _dot[i, i]).ToArray();

        public void Add(TensorContribution c)
        {
            _count += c.Count;
            _baseSq += c.BaseSq;
            for (int i = 0; i < _m; i++)
            {
                if (c.Histograms is not null) _histograms?[i].Add(c.Histograms[i]);
                for (int j = i; j < _m; j++)
                {
                    _dot[i, j] += c.Dot[i * _m + j];
                    _agree[i, j] += c.Agree[i * _m + j];
                    _conflict[i, j] += c.Conflict[i * _m + j];
                }
            }
        }

        public (double[][] Cosine, double[][] Sign, double[][] Conflict) Matrices()
        {
            var cos = new double[_m][];
            var sign = new double[_m][];
            var conflict = new double[_m][];
            for (int i = 0; i < _m; i++) { cos[i] = new double[_m]; sign[i] = new double[_m]; conflict[i] = new double[_m]; }
            for (int i = 0; i < _m; i++)
                for (int j = i; j < _m; j++)
                {
                    double denom = Math.Sqrt(_dot[i, i]) * Math.Sqrt(_dot[j, j]);
                    double c = i == j ? 1 : denom > 0 ? Math.Clamp(_dot[i, j] / denom, -1, 1) : 0;
                    double s = _count == 0 ? 0 : _agree[i, j] / (double)_count;
                    cos[i][j] = cos[j][i] = c;
                    sign[i][j] = sign[j][i] = s;
                    conflict[i][j] = conflict[j][i] = _count == 0 ? 0 : _conflict[i, j] / (double)_count;
                }
            return (cos, sign, conflict);
        }

        public DeltaSummary Finish(IReadOnlyList<double> fractions)
        {
            var (cos, sign, conflict) = Matrices();
            double baseNorm = Math.Sqrt(_baseSq);
            var models = Enumerable.Range(0, _m).Select(i =>
            {
                double norm = Math.Sqrt(_dot[i, i]);
                var shares = _histograms is null ? [] : fractions.Select(f => _histograms[i].TopShare(f)).ToArray();
                return new ModelDelta(norm, Relative(norm, baseNorm), shares, null, []);
            }).ToArray();
            return new DeltaSummary(Name, _count, baseNorm, models, cos, sign, conflict);
        }
    }
}
