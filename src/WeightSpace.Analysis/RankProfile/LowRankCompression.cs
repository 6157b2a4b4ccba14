using WeightSpace.Analysis.Merging.Output;
using static TorchSharp.torch;

namespace WeightSpace.Analysis.RankProfile;

/// <summary>Writes a checkpoint whose chosen matrices are replaced by their truncated SVD (Eckart–Young: the best
/// rank-r approximation in Frobenius and spectral norm), as a Hugging Face folder in the input's dtypes, or with each
/// such matrix stored as two factors.</summary>
/// <remarks>
/// Dense output: W_r = U_r Σ_r V_rᵀ, rounded once to the stored dtype, same names and shapes, so every loader (and
/// <c>weightspace eval</c>) reads it as the original architecture. Factor output (<see cref="LowRankCompressionOptions.Factors"/>):
/// <c>NAME.weight</c> becomes <c>NAME.weight_u</c> [rows, r] = U_r Σ_r^½ and <c>NAME.weight_v</c> [r, columns] = Σ_r^½ V_rᵀ
/// (W_r = weight_u · weight_v; the balanced split keeps both factors in the same range for BF16). The SVD is float64
/// up to <see cref="RankProfileOptions.MaxFloat64Elements"/>, one matrix resident at a time; everything else is
/// copied byte for byte. The folder is staged and renamed into place, so a failure leaves nothing behind.
/// </remarks>
public static class LowRankCompression
{
    /// <summary>Compresses <paramref name="model"/> into <paramref name="outputDirectory"/>.</summary>
    /// <param name="model">The checkpoint.</param>
    /// <param name="selection">How each rank is chosen.</param>
    /// <param name="outputDirectory">Created; must be absent or empty unless <see cref="LowRankCompressionOptions.Overwrite"/>.</param>
    /// <param name="options">Coverage, factors, files to copy; defaults if null.</param>
    /// <param name="ct">Checked between tensors; a cancellation leaves nothing behind.</param>
    /// <exception cref="InvalidRankProfileException">A rank file names a tensor the model lacks, one that is not a
    /// floating-point matrix, or a rank above its full rank.</exception>
    /// <exception cref="WeightSpaceException">The output directory is not empty, or a tensor cannot be read.</exception>
    public static IReadOnlyList<CompressedMatrix> Write(TensorStore model, RankSelection selection, string outputDirectory,
        LowRankCompressionOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(selection);
        options ??= new LowRankCompressionOptions();
        var targets = Targets(model, selection, options.Coverage);
        var outputs = options.Factors ? FactorOutputs(model, selection, targets, options, ct) : [.. model.Tensors.Select(Stored)];
        var results = new List<CompressedMatrix>();
        MergeDirectory.Write(outputs, (sink, token) =>
        {
            foreach (var info in model.Tensors)
            {
                token.ThrowIfCancellationRequested();
                if (!targets.Contains(info.Name))
                {
                    if (info.DType.IsBlockQuantized()) { sink.Write(info.Name, model.ReadSingle(info.Name)); continue; }
                    using var buffer = model.Read(info.Name);
                    sink.WriteBytes(info.Name, buffer.Bytes);
                    continue;
                }
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                var (u, s, vh, ranks) = Decompose(model, info, options.Coverage);
                int r = selection.RankOf(ranks);
                results.Add(Summary(info, ranks, r));
                var ur = u.narrow(1, 0, r);
                var sr = s.narrow(0, 0, r);
                var vr = vh.narrow(0, 0, r);
                if (options.Factors)
                {
                    var root = sr.sqrt();
                    sink.Write(info.Name + "_u", Floats(ur.mul(root.unsqueeze(0))));
                    sink.Write(info.Name + "_v", Floats(vr.mul(root.unsqueeze(1))));
                }
                else sink.Write(info.Name, Floats(ur.mul(sr.unsqueeze(0)).matmul(vr)));
            }
            return null;
        }, outputDirectory, new MergeDirectoryOptions
        {
            Overwrite = options.Overwrite,
            ConfigFilesFrom = options.CopyFilesFrom,
            TokenizerFilesFrom = options.CopyFilesFrom,
            Metadata = new Dictionary<string, string> { ["format"] = "pt", ["weightspace.compress"] = selection.Text + (options.Factors ? " (factors)" : "") },
        }, ct);
        return results;
    }

    // safetensors has no block types: a GGUF's quantised tensors are written (and factorised) as float32.
    private static TensorInfo Stored(TensorInfo t) => t.DType.IsBlockQuantized() ? t with { DType = DType.F32 } : t;

    private static float[] Floats(Tensor t) => t.to_type(ScalarType.Float32).contiguous().data<float>().ToArray();

    private static CompressedMatrix Summary(TensorInfo info, MatrixRanks ranks, int r)
    {
        double total = 0, tail = 0;
        for (int i = ranks.FullRank - 1; i >= 0; i--)
        {
            double e = ranks.SingularValues[i] * ranks.SingularValues[i];
            total += e;
            if (i >= r) tail += e;
        }
        long m = info.Shape[0], n = info.Shape[1];
        return new CompressedMatrix(info.Name, r, ranks.FullRank, total > 0 ? Math.Sqrt(tail / total) : 0, checked(r * (m + n)), checked(m * n));
    }

    /// <summary>The thin SVD of one matrix in the caller's scope, and its ranks.</summary>
    private static (Tensor U, Tensor S, Tensor Vh, MatrixRanks Ranks) Decompose(TensorStore model, TensorInfo info, RankProfileOptions coverage)
    {
        var type = RankProfiler.ComputeType(info, coverage);
        Tensor w;
        using (var buffer = model.Read(info.Name)) w = buffer.ToTorch(type).view(info.Shape[0], info.Shape[1]);
        var (u, s, vh) = linalg.svd(w, fullMatrices: false);
        var sigma = s.to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        return (u, s, vh, RankProfiler.Ranks(info, sigma, type));
    }

    // With factors the output shapes need every rank before the first byte is written, so each target is decomposed
    // once up front for its rank (singular values only), then again when written.
    private static List<TensorInfo> FactorOutputs(TensorStore model, RankSelection selection, HashSet<string> targets, LowRankCompressionOptions options,
        CancellationToken ct)
    {
        var outputs = new List<TensorInfo>();
        foreach (var info in model.Tensors)
        {
            ct.ThrowIfCancellationRequested();
            if (!targets.Contains(info.Name)) { outputs.Add(Stored(info)); continue; }
            int r = selection.ExplicitRanks is { } file ? file[info.Name] : selection.RankOf(RankProfiler.Profile(model, info, options.Coverage));
            var dtype = Stored(info).DType;
            outputs.Add(new TensorInfo(info.Name + "_u", dtype, new Shape(info.Shape[0], r)));
            outputs.Add(new TensorInfo(info.Name + "_v", dtype, new Shape(r, info.Shape[1])));
        }
        return outputs;
    }

    /// <summary>The tensors to compress: those the file names (each checked), or every covered matrix.</summary>
    private static HashSet<string> Targets(TensorStore model, RankSelection selection, RankProfileOptions coverage)
    {
        if (selection.ExplicitRanks is not { } ranks)
            return [.. model.Tensors.Where(coverage.Covers).Select(t => t.Name)];
        foreach (var (name, r) in ranks)
        {
            if (!model.TryGetInfo(name, out var info))
                throw new InvalidRankProfileException(selection.Text, $"tensor '{name}' is not in {model.Path}");
            if (info.Shape.Rank != 2 || !info.DType.IsFloatingPoint())
                throw new InvalidRankProfileException(selection.Text, $"tensor '{name}' is {info.DType.ToSafetensorsName()}{info.Shape}, not a floating-point matrix");
            long full = Math.Min(info.Shape[0], info.Shape[1]);
            if (r > full) throw new InvalidRankProfileException(selection.Text, $"tensor '{name}': rank {r} exceeds its full rank {full} (shape {info.Shape})");
        }
        return [.. ranks.Keys];
    }
}
