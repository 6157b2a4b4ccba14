using WeightSpace.Analysis.Merging.Output;
using WeightSpace.Formats.Peft;
using static TorchSharp.torch;

namespace WeightSpace.Analysis.Lora;

/// <summary>Extracts a PEFT LoRA adapter from a fine-tune: per changed 2-D linear weight, the truncated SVD of
/// ΔW = W_ft − W_base, written as B = U√Σ, A = √ΣVᵀ with α = r (scale 1), like mergekit-extract-lora.</summary>
/// <remarks>
/// Nothing changed is dropped silently: norms and other 1-D weights go to <c>modules_to_save</c>, biases are saved with
/// <c>bias: "all"</c>, changed embeddings go to <c>modules_to_save</c> (or LoRA with <see cref="LoraExtractOptions.EmbedLora"/>),
/// and whatever cannot be written (non-float, reshaped, only in one model, excluded) is listed in
/// <see cref="LoraExtractResult.NotWritten"/>. A tied <c>lm_head</c> (absent, sharing the embedding) on one side is read
/// as that side's embedding. With a fixed rank the adapter is streamed one module at a time (a first pass compares
/// the models to find the changed tensors); with <see cref="LoraExtractOptions.Energy"/> or an ε the ranks are only known
/// after the SVDs, so the factors (the adapter's size) are held until written.
/// </remarks>
public static class LoraExtraction
{
    private static readonly string[] EmbeddingMarkers = ["embed_tokens", "wte", "word_embeddings", "embed_in", "tok_embeddings"];
    private static readonly string[] TiedEmbeddings = ["model.embed_tokens.weight", "transformer.wte.weight", "embed_tokens.weight", "gpt_neox.embed_in.weight"];

    internal enum Kind { Lora, Embedding, Full }

    /// <summary>One changed tensor and what it becomes.</summary>
    internal sealed record Job(string Name, string BaseName, string FineTunedName, string Module, Kind Kind, Shape Shape, string Reason);

    /// <summary>The jobs in write order, the changed tensors that cannot be written, and how many are unchanged.</summary>
    internal sealed record ExtractionPlan(IReadOnlyList<Job> Jobs, IReadOnlyDictionary<string, string> NotWritten, int Unchanged);

    /// <summary>Where <see cref="Publish"/> gets each module's rank (null: dropped), factors and full tensors from.</summary>
    internal sealed record FactorSource(Func<Job, int?> RankOf, Func<Job, (float[] A, float[] B, ExtractedModule Stats)> Factors, Func<Job, float[]> Full);

    /// <summary>Opens both models (files or folders, including legacy <c>pytorch_model.bin</c> folders) and extracts.</summary>
    /// <exception cref="WeightSpaceException">An option is invalid, or the output folder is not empty.</exception>
    public static LoraExtractResult Write(string basePath, string fineTunedPath, string outputDirectory, LoraExtractOptions? options = null, CancellationToken ct = default)
    {
        using var baseModel = Checkpoint.Open(basePath);
        using var fineTuned = Checkpoint.Open(fineTunedPath);
        return Write(baseModel, fineTuned, outputDirectory, options, basePath, ct);
    }

    /// <summary>Extracts the adapter of <paramref name="fineTuned"/> over <paramref name="baseModel"/> into <paramref name="outputDirectory"/>
    /// (<c>adapter_config.json</c> + <c>adapter_model.safetensors</c>, published atomically).</summary>
    /// <param name="baseModel">The base.</param>
    /// <param name="fineTuned">The fine-tune.</param>
    /// <param name="outputDirectory">The adapter folder; absent or empty unless <see cref="LoraExtractOptions.Overwrite"/>.</param>
    /// <param name="options">Ranks, solver and what to do with undecomposable tensors.</param>
    /// <param name="baseModelName">Written as <c>base_model_name_or_path</c>.</param>
    /// <param name="ct">Checked between modules.</param>
    /// <exception cref="WeightSpaceException">An option is out of range or a regex is invalid.</exception>
    public static LoraExtractResult Write(TensorStore baseModel, TensorStore fineTuned, string outputDirectory, LoraExtractOptions? options = null,
        string? baseModelName = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(baseModel);
        ArgumentNullException.ThrowIfNull(fineTuned);
        options ??= new LoraExtractOptions();
        var plan = Plan(baseModel, fineTuned, options, ct);
        bool adaptive = options.Energy is not null || options.SvEpsilon > 0;
        var notWritten = new SortedDictionary<string, string>(plan.NotWritten.ToDictionary(), StringComparer.Ordinal);
        var computed = new Dictionary<string, (float[] A, float[] B, ExtractedModule Stats)>(StringComparer.Ordinal);
        if (adaptive)
            foreach (var j in plan.Jobs.Where(j => j.Kind != Kind.Full))
            {
                ct.ThrowIfCancellationRequested();
                if (Decompose(baseModel, fineTuned, j, options, null) is { } r) computed[j.Name] = r;
                else notWritten[j.Name] = DroppedReason(options);
            }
        var source = new FactorSource(
            j => adaptive ? (computed.TryGetValue(j.Name, out var c) ? c.Stats.Rank : null) : FixedRank(j, options),
            j =>
            {
                if (adaptive) { var c = computed[j.Name]; computed.Remove(j.Name); return c; }
                return Decompose(baseModel, fineTuned, j, options, FixedRank(j, options)) ?? throw new InvalidOperationException("fixed rank never drops a module");
            },
            j => LoraMath.Read(fineTuned, fineTuned.GetInfo(j.FineTunedName)));
        return Publish(plan, notWritten, source, outputDirectory, options, baseModelName, ct);
    }

    /// <summary>Which tensors changed and what each becomes (LoRA factors, an embedding LoRA, a tensor saved in full),
    /// from a comparison of the two models; and the changed tensors that cannot be written, with the reason.</summary>
    internal static ExtractionPlan Plan(TensorStore baseModel, TensorStore fineTuned, LoraExtractOptions options, CancellationToken ct)
    {
        Validate(options);
        var include = options.Include.Select(r => Compile(r, "--include-regex")).ToArray();
        var exclude = options.Exclude.Select(r => Compile(r, "--exclude-regex")).ToArray();
        var jobs = new List<Job>();
        var notWritten = new SortedDictionary<string, string>(StringComparer.Ordinal);
        int unchanged = 0;
        var names = fineTuned.Tensors.Select(t => t.Name).Concat(baseModel.Tensors.Select(t => t.Name)).Distinct(StringComparer.Ordinal).ToList();
        foreach (string name in names)
        {
            ct.ThrowIfCancellationRequested();
            string? b = Resolve(baseModel, name), f = Resolve(fineTuned, name);
            if (b is null || f is null) { notWritten[name] = b is null ? "only in the fine-tuned model" : "only in the base model"; continue; }
            var bi = baseModel.GetInfo(b);
            var fi = fineTuned.GetInfo(f);
            if (bi.Shape != fi.Shape) { notWritten[name] = $"shape {fi.Shape} differs from the base's {bi.Shape}"; continue; }
            if (Same(baseModel, bi, fineTuned, fi)) { unchanged++; continue; }
            if (!bi.DType.IsFloatingPoint() || !fi.DType.IsFloatingPoint()) { notWritten[name] = $"non-float ({fi.DType.ToSafetensorsName()}) tensor changed"; continue; }
            string tied = b != name ? " (tied to the embedding in the base)" : f != name ? " (tied to the embedding in the fine-tune)" : "";
            bool isWeight = name.EndsWith(".weight", StringComparison.Ordinal);
            string module = isWeight ? name[..^".weight".Length] : name[..Math.Max(0, name.LastIndexOf('.'))];
            if ((include.Length > 0 && !include.Any(r => r.IsMatch(module))) || exclude.Any(r => r.IsMatch(module)))
            {
                notWritten[name] = "changed but excluded by --include-regex/--exclude-regex";
                continue;
            }
            bool save = options.SaveModules.Any(m => module == m || module.EndsWith("." + m, StringComparison.Ordinal));
            bool embedding = EmbeddingMarkers.Any(m => module.Split('.').Contains(m));
            Kind kind;
            string reason;
            if (save) (kind, reason) = (Kind.Full, "listed in --save-module");
            else if (isWeight && bi.Shape.Rank == 2 && embedding) (kind, reason) = options.EmbedLora ? (Kind.Embedding, "") : (Kind.Full, "changed embedding (modules_to_save; --embed-lora for LoRA)");
            else if (isWeight && bi.Shape.Rank == 2) (kind, reason) = (Kind.Lora, "");
            else (kind, reason) = (Kind.Full, name.EndsWith(".bias", StringComparison.Ordinal) ? "changed bias (bias: all)" : $"changed {bi.Shape.Rank}-D tensor (modules_to_save)");
            if (kind == Kind.Full && options.SkipUndecomposable && !save) { notWritten[name] = reason + ", skipped (--skip-undecomposable)"; continue; }
            jobs.Add(new Job(name, b, f, module, kind, bi.Shape, reason + tied));
        }
        return new ExtractionPlan(jobs, notWritten, unchanged);
    }

    internal static string DroppedReason(LoraExtractOptions options) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"all singular values ≤ --sv-epsilon {options.SvEpsilon}");

    internal static int FixedRank(Job j, LoraExtractOptions options) => (int)Math.Min(options.Rank, Math.Min(j.Shape[0], j.Shape[1]));

    /// <summary>Writes the adapter folder of <paramref name="plan"/> with factors from <paramref name="source"/>,
    /// atomically: one module's factors are asked for at a time, in the plan's order.</summary>
    internal static LoraExtractResult Publish(ExtractionPlan plan, SortedDictionary<string, string> notWritten, FactorSource source,
        string outputDirectory, LoraExtractOptions options, string? baseModelName, CancellationToken ct)
    {
        var jobs = plan.Jobs;
        var loraModules = jobs.Where(j => j.Kind != Kind.Full).Select(j => j.Module).ToHashSet(StringComparer.Ordinal);
        // A module saved in full takes its bias with it; other changed biases are saved alone under bias: "all".
        var savedModules = jobs.Where(j => j.Kind == Kind.Full && !IsBias(j)).Select(j => j.Module).ToHashSet(StringComparer.Ordinal);
        string AdapterName(Job j) => j.Kind == Kind.Full && IsBias(j) && loraModules.Contains(j.Module) && !savedModules.Contains(j.Module)
            ? PeftTensorName.Prefix + j.Module + ".base_layer.bias"
            : PeftTensorName.Prefix + j.Name;
        bool anyBias = jobs.Any(j => j.Kind == Kind.Full && IsBias(j) && !savedModules.Contains(j.Module));

        var modules = new List<ExtractedModule>();
        var saved = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var planned = jobs.Where(j => j.Kind != Kind.Full).ToDictionary(j => j.Name, source.RankOf, StringComparer.Ordinal);
        var lora = jobs.Where(j => j.Kind != Kind.Full && planned[j.Name] is not null).ToHashSet();
        var outputs = new List<TensorInfo>();
        foreach (var j in jobs)
        {
            if (j.Kind == Kind.Full) { outputs.Add(new TensorInfo(AdapterName(j), options.DType, j.Shape)); continue; }
            if (!lora.Contains(j)) continue;
            int r = planned[j.Name]!.Value;
            long rows = j.Shape[0], cols = j.Shape[1];
            string p = PeftTensorName.Prefix + j.Module;
            if (j.Kind == Kind.Embedding)
            {
                outputs.Add(new TensorInfo(p + ".lora_embedding_A", options.DType, new Shape(r, rows)));
                outputs.Add(new TensorInfo(p + ".lora_embedding_B", options.DType, new Shape(cols, r)));
            }
            else
            {
                outputs.Add(new TensorInfo(p + ".lora_A.weight", options.DType, new Shape(r, cols)));
                outputs.Add(new TensorInfo(p + ".lora_B.weight", options.DType, new Shape(rows, r)));
            }
        }

        var files = MergeDirectory.Write(outputs, (sink, token) =>
        {
            foreach (var j in jobs)
            {
                token.ThrowIfCancellationRequested();
                if (j.Kind == Kind.Full)
                {
                    sink.Write(AdapterName(j), source.Full(j));
                    saved[j.Name] = j.Reason;
                    continue;
                }
                if (!lora.Contains(j)) continue;
                var (a, b, stats) = source.Factors(j);
                if (stats.Rank != planned[j.Name]) throw new InvalidOperationException($"module {j.Module}: rank {stats.Rank}, planned {planned[j.Name]}");
                string p = PeftTensorName.Prefix + j.Module;
                sink.Write(j.Kind == Kind.Embedding ? p + ".lora_embedding_A" : p + ".lora_A.weight", a);
                sink.Write(j.Kind == Kind.Embedding ? p + ".lora_embedding_B" : p + ".lora_B.weight", b);
                modules.Add(stats);
            }
            var ranks = modules.GroupBy(m => m.Rank).OrderByDescending(g => g.Count()).ThenByDescending(g => g.Key).Select(g => g.Key).ToList();
            int defaultRank = ranks.Count > 0 ? ranks[0] : Math.Max(1, options.Rank);
            var rankPattern = modules.Where(m => m.Rank != defaultRank).ToDictionary(m => m.Module, m => m.Rank);
            var alphaPattern = rankPattern.ToDictionary(kv => kv.Key, kv => (double)kv.Value);
            var config = PeftAdapterConfig.Serialize(defaultRank, defaultRank, modules.Select(m => m.Module.Split('.')[^1]), rankPattern, alphaPattern,
                savedModules.Order(StringComparer.Ordinal).ToList(), anyBias ? PeftBias.All : PeftBias.None, baseModelName);
            return new Dictionary<string, byte[]> { [PeftAdapter.ConfigFileName] = config };
        }, outputDirectory, new MergeDirectoryOptions
        {
            ShardSizeBytes = long.MaxValue,
            Overwrite = options.Overwrite,
            WeightsFileName = PeftAdapter.SafetensorsFileName,
            Metadata = new Dictionary<string, string> { ["format"] = "pt" },
        }, ct);
        return new LoraExtractResult(modules, saved, notWritten, plan.Unchanged, files);
    }

    internal static (float[] A, float[] B, ExtractedModule Stats)? Decompose(TensorStore baseModel, TensorStore fineTuned, Job job, LoraExtractOptions options, int? fixedRank)
    {
        using var scope = NewDisposeScope();
        using var bb = baseModel.Read(job.BaseName);
        using var fb = fineTuned.Read(job.FineTunedName);
        var delta = fb.ToTorch(ScalarType.Float64).sub(bb.ToTorch(ScalarType.Float64));
        // PEFT's embedding factors are A [r, num_embeddings], B [dim, r] with ΔW = (B·A)ᵀ: decompose ΔWᵀ.
        if (job.Kind == Kind.Embedding) delta = delta.t().contiguous();
        long m = delta.shape[0], n = delta.shape[1];
        double total = delta.square().sum().item<double>();
        int rank;
        Tensor u, s, vh;
        string solver;
        if (fixedRank is int fr && options.AllowRandomized && (fr + options.Oversample) * 4L <= Math.Min(m, n))
        {
            (u, s, vh) = LowRank.Randomized(delta, fr, options.Oversample, options.PowerIterations, options.Seed);
            rank = fr;
            solver = "randomized";
        }
        else
        {
            var (uf, sf, vhf) = linalg.svd(delta, fullMatrices: false);
            var sigma = sf.data<double>().ToArray();
            rank = fixedRank ?? ChooseRank(sigma, total, options);
            if (rank == 0) return null;
            (u, s, vh) = (uf[.., ..rank], sf[..rank], vhf[..rank, ..]);
            solver = "exact";
        }
        var root = options.DistributeScale ? s.sqrt() : s;
        var b = u.mul(root.unsqueeze(0));
        var a = options.DistributeScale ? vh.mul(root.unsqueeze(1)) : vh;
        // Error and energy of the factors as written: rounded to the adapter's dtype, then multiplied in float64.
        var storedType = options.DType.ToScalarType();
        var a32 = a.to_type(storedType).to_type(ScalarType.Float32).contiguous();
        var b32 = b.to_type(storedType).to_type(ScalarType.Float32).contiguous();
        double error = delta.sub(b32.to_type(ScalarType.Float64).matmul(a32.to_type(ScalarType.Float64))).square().sum().item<double>();
        double kept = s.square().sum().item<double>();
        var stats = new ExtractedModule(job.Module, job.Shape[0], job.Shape[1], rank, Math.Sqrt(total),
            total > 0 ? Math.Min(1, kept / total) : 1, total > 0 ? Math.Sqrt(error / total) : 0, solver, job.Kind == Kind.Embedding)
        {
            OutlierChanges = options.CheckOutliers && job.Kind == Kind.Lora ? OutlierChanges(job.Module, bb.ToTorch(ScalarType.Float64), fb.ToTorch(ScalarType.Float64), b32, a32) : [],
        };
        return (a32.data<float>().ToArray(), b32.data<float>().ToArray(), stats);
    }

    /// <summary>An outlier is a weight of at least this many times its matrix's RMS (the merge's outlier check uses the
    /// same bound: the largest of 10¹⁰ Gaussian weights is ≈ 6.7 × RMS).</summary>
    public const double OutlierRatio = 10;

    /// <summary>An outlier counts as changed when base + B·A misses the fine-tuned value by more than this share of
    /// max(|w_base|, |w_ft|).</summary>
    public const double OutlierTolerance = 0.01;

    private const int OutliersPerMatrix = 5;

    // The top |w| of the base and the fine-tune (a few per matrix, kept when ≥ OutlierRatio × RMS), and whether the
    // written factors give the fine-tuned value there: a super weight is one coordinate, which a low rank can miss.
    private static List<LoraOutlierChange> OutlierChanges(string module, Tensor w0, Tensor w1, Tensor b, Tensor a)
    {
        var changes = new List<LoraOutlierChange>();
        long cols = w0.shape[1];
        var seen = new HashSet<long>();
        foreach (var w in new[] { w0, w1 })
        {
            double rms = Math.Sqrt(w.square().mean().item<double>());
            if (!(rms > 0)) continue;
            var (values, indices) = w.abs().flatten().topk((int)Math.Min(OutliersPerMatrix, w.numel()));
            var top = values.data<double>().ToArray();
            var at = indices.data<long>().ToArray();
            for (int k = 0; k < top.Length; k++)
            {
                if (top[k] < OutlierRatio * rms || !seen.Add(at[k])) continue;
                long row = at[k] / cols, col = at[k] % cols;
                double before = w0[row, col].item<double>(), after = w1[row, col].item<double>();
                double extracted = before + b[row].to_type(ScalarType.Float64).dot(a[.., col].to_type(ScalarType.Float64)).item<double>();
                if (Math.Abs(extracted - after) > OutlierTolerance * Math.Max(Math.Abs(before), Math.Abs(after)))
                    changes.Add(new LoraOutlierChange(module, row, col, before, after, extracted, top[k] / rms));
            }
        }
        return changes;
    }

    internal static bool IsBias(Job j) => j.Name.EndsWith(".bias", StringComparison.Ordinal);

    private static int ChooseRank(double[] sigma, double total, LoraExtractOptions options)
    {
        int limit = Math.Min(options.Rank, sigma.Length);
        int rank = 0;
        double kept = 0;
        while (rank < limit && sigma[rank] > options.SvEpsilon)
        {
            if (options.Energy is double e && kept >= e * total) break;
            kept += sigma[rank] * sigma[rank];
            rank++;
        }
        return rank;
    }

    private static bool Same(TensorStore x, TensorInfo xi, TensorStore y, TensorInfo yi)
    {
        using var a = x.Read(xi.Name);
        using var b = y.Read(yi.Name);
        if (xi.DType == yi.DType) return a.Bytes.SequenceEqual(b.Bytes);
        if (!xi.DType.IsFloatingPoint() || !yi.DType.IsFloatingPoint()) return false;
        return a.ToDoubleArray().AsSpan().SequenceEqual(b.ToDoubleArray());
    }

    private static string? Resolve(TensorStore store, string name)
    {
        if (store.Contains(name)) return name;
        if (name.EndsWith("lm_head.weight", StringComparison.Ordinal))
            foreach (string e in TiedEmbeddings)
                if (store.Contains(e)) return e;
        return null;
    }

    private static Regex Compile(string pattern, string option)
    {
        try { return new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)); }
        catch (ArgumentException e) { throw new WeightSpaceException($"{option} '{pattern}': not a regular expression ({e.Message.Split('\n')[0]})", e); }
    }

    private static void Validate(LoraExtractOptions o)
    {
        if (o.Rank is < 1 or > 65_536) throw new WeightSpaceException($"rank {o.Rank} must be between 1 and 65536");
        if (o.Energy is double e && !(e > 0 && e <= 1)) throw new WeightSpaceException($"energy {e} must be in (0, 1]");
        if (!(o.SvEpsilon >= 0) || double.IsInfinity(o.SvEpsilon)) throw new WeightSpaceException($"sv-epsilon {o.SvEpsilon} must be a finite number ≥ 0");
        if (o.Oversample < 0 || o.PowerIterations < 0) throw new WeightSpaceException("oversampling and power iterations must be ≥ 0");
        if (o.DType is not (DType.F32 or DType.BF16 or DType.F16 or DType.F64)) throw new WeightSpaceException($"adapter dtype {o.DType} must be f32, bf16, f16 or f64");
    }
}
