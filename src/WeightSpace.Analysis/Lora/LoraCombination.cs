using WeightSpace.Analysis.Merging.Output;
using WeightSpace.Formats.Peft;
using static TorchSharp.torch;

namespace WeightSpace.Analysis.Lora;

/// <summary>Combines LoRA adapters in ΔW space: per module ΔW = Σᵢ wᵢ·sᵢ·BᵢAᵢ, re-factorised by its exact truncated SVD
/// at a chosen rank, the error reported. Unlike summing the A's and the B's separately (PEFT's <c>add_weighted_adapter</c>
/// "linear" on different subspaces), this has no cross terms BᵢAⱼ.</summary>
/// <remarks>ΔW is never formed: with B = [w₁s₁B₁ | w₂s₂B₂ | …] and A = [A₁; A₂; …], ΔW = B·A; QR of B and Aᵀ reduce the
/// SVD to a (Σrᵢ)² core, so memory is the factors, one module at a time.</remarks>
public static class LoraCombination
{
    /// <summary>Writes the combination of <paramref name="adapterPaths"/> into <paramref name="outputDirectory"/> (a PEFT adapter, scale 1).</summary>
    /// <param name="adapterPaths">PEFT adapter folders.</param>
    /// <param name="weights">One weight for all, or one per adapter.</param>
    /// <param name="rank">Largest rank per module; null keeps Σrᵢ (exact).</param>
    /// <param name="outputDirectory">The new adapter folder (absent or empty unless <paramref name="overwrite"/>).</param>
    /// <param name="overwrite">Replace a non-empty output folder.</param>
    /// <param name="ct">Checked between modules.</param>
    /// <exception cref="InvalidAdapterException">An adapter uses DoRA or saves tensors in full, or two adapters disagree on a module's shape or layout.</exception>
    public static IReadOnlyList<CombinedModule> Write(IReadOnlyList<string> adapterPaths, IReadOnlyList<double> weights, int? rank, string outputDirectory,
        bool overwrite = false, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(adapterPaths);
        ArgumentNullException.ThrowIfNull(weights);
        if (adapterPaths.Count == 0) throw new ArgumentException("At least one adapter is needed.", nameof(adapterPaths));
        if (weights.Count != 1 && weights.Count != adapterPaths.Count)
            throw new ArgumentException($"Give one weight or one per adapter ({adapterPaths.Count}); got {weights.Count}.", nameof(weights));
        if (rank is < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, "The rank must be at least 1.");
        var adapters = new List<PeftAdapter>();
        try
        {
            foreach (string path in adapterPaths) adapters.Add(PeftAdapter.Open(path));
            var groups = new Dictionary<string, List<(PeftAdapter Adapter, PeftModule Module, double Weight)>>(StringComparer.Ordinal);
            for (int i = 0; i < adapters.Count; i++)
            {
                var a = adapters[i];
                if (a.FullTensors.Count > 0) throw new InvalidAdapterException(a.Path, $"tensor '{a.FullTensors[0].Value.Name}'", "is saved in full; combine merges LoRA factors only");
                if (a.Config.UseDora) throw new InvalidAdapterException(a.Path, null, "uses DoRA, whose magnitude rescaling is not additive; apply it instead");
                if (a.Config.FanInFanOut != adapters[0].Config.FanInFanOut) throw new InvalidAdapterException(a.Path, null, "fan_in_fan_out differs from the first adapter's");
                foreach (var m in a.Modules)
                {
                    if (!groups.TryGetValue(m.Module, out var list)) groups[m.Module] = list = [];
                    if (list.Count > 0 && (list[0].Module.Rows != m.Rows || list[0].Module.Columns != m.Columns || list[0].Module.IsEmbedding != m.IsEmbedding))
                        throw new InvalidAdapterException(a.Path, $"module '{m.Module}'", $"B·A is [{m.Rows}, {m.Columns}] but {list[0].Adapter.Path} has [{list[0].Module.Rows}, {list[0].Module.Columns}]");
                    list.Add((a, m, weights.Count == 1 ? weights[0] : weights[i]));
                }
            }
            var ranks = groups.ToDictionary(g => g.Key, g =>
            {
                var first = g.Value[0].Module;
                long full = Math.Min(g.Value.Sum(x => (long)x.Module.Rank), Math.Min(first.Rows, first.Columns));
                return (int)Math.Min(rank ?? full, full);
            }, StringComparer.Ordinal);
            var outputs = new List<TensorInfo>();
            foreach (var (module, list) in groups)
            {
                var m = list[0].Module;
                string p = PeftTensorName.Prefix + module;
                int r = ranks[module];
                outputs.Add(new TensorInfo(p + (m.IsEmbedding ? ".lora_embedding_A" : ".lora_A.weight"), DType.F32, new Shape(r, m.Columns)));
                outputs.Add(new TensorInfo(p + (m.IsEmbedding ? ".lora_embedding_B" : ".lora_B.weight"), DType.F32, new Shape(m.Rows, r)));
            }
            var report = new List<CombinedModule>();
            MergeDirectory.Write(outputs, (sink, token) =>
            {
                foreach (var (module, list) in groups)
                {
                    token.ThrowIfCancellationRequested();
                    var (a, b, stats) = Combine(module, list, ranks[module]);
                    string p = PeftTensorName.Prefix + module;
                    sink.Write(p + (list[0].Module.IsEmbedding ? ".lora_embedding_A" : ".lora_A.weight"), a);
                    sink.Write(p + (list[0].Module.IsEmbedding ? ".lora_embedding_B" : ".lora_B.weight"), b);
                    report.Add(stats);
                }
                int defaultRank = ranks.Values.GroupBy(r => r).OrderByDescending(g => g.Count()).ThenByDescending(g => g.Key).First().Key;
                var pattern = ranks.Where(kv => kv.Value != defaultRank).ToDictionary(kv => kv.Key, kv => kv.Value);
                var config = PeftAdapterConfig.Serialize(defaultRank, defaultRank, groups.Keys.Select(k => k.Split('.')[^1]), pattern,
                    pattern.ToDictionary(kv => kv.Key, kv => (double)kv.Value), null, PeftBias.None, null, adapters[0].Config.FanInFanOut);
                return new Dictionary<string, byte[]> { [PeftAdapter.ConfigFileName] = config };
            }, outputDirectory, new MergeDirectoryOptions { ShardSizeBytes = long.MaxValue, Overwrite = overwrite, WeightsFileName = PeftAdapter.SafetensorsFileName }, ct);
            return report;
        }
        finally
        {
            foreach (var a in adapters) a.Dispose();
        }
    }

    private static (float[] A, float[] B, CombinedModule Stats) Combine(string module, List<(PeftAdapter Adapter, PeftModule Module, double Weight)> list, int rank)
    {
        using var scope = NewDisposeScope();
        var bs = new List<Tensor>();
        var @as = new List<Tensor>();
        foreach (var (adapter, m, w) in list)
        {
            bs.Add(LoraMath.Load(adapter.Store, m.B).to_type(ScalarType.Float64).mul(w * m.Scale));
            @as.Add(LoraMath.Load(adapter.Store, m.A).to_type(ScalarType.Float64));
        }
        var b = cat(bs, 1);
        var a = cat(@as, 0);
        var (qb, rb) = linalg.qr(b);
        var (qa, ra) = linalg.qr(a.mT);
        var (uc, s, vch) = linalg.svd(rb.matmul(ra.mT), fullMatrices: false);
        var sigma = s.data<double>().ToArray();
        double total = sigma.Sum(x => x * x), kept = sigma.Take(rank).Sum(x => x * x);
        var root = s[..rank].sqrt();
        var bOut = qb.matmul(uc[.., ..rank]).mul(root.unsqueeze(0)).to_type(ScalarType.Float32).contiguous();
        var aOut = vch[..rank, ..].matmul(qa.mT).mul(root.unsqueeze(1)).to_type(ScalarType.Float32).contiguous();
        var stats = new CombinedModule(module, list.Sum(x => x.Module.Rank), rank, Math.Sqrt(total), total > 0 ? Math.Sqrt(Math.Max(0, total - kept) / total) : 0);
        return (aOut.data<float>().ToArray(), bOut.data<float>().ToArray(), stats);
    }
}
