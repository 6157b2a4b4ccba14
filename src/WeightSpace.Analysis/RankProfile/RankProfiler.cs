using static TorchSharp.torch;

namespace WeightSpace.Analysis.RankProfile;

/// <summary>The rank profile of a checkpoint: for every covered matrix its singular values and the ranks read from
/// them (<see cref="MatrixRanks"/>), one matrix resident at a time.</summary>
public static class RankProfiler
{
    /// <summary>Profiles every matrix <paramref name="options"/> covers, in checkpoint order.</summary>
    /// <param name="model">The checkpoint.</param>
    /// <param name="options">Coverage and precision; defaults if null.</param>
    /// <param name="progress">Receives (matrices done, matrices in all).</param>
    /// <param name="ct">Checked between matrices.</param>
    /// <exception cref="InvalidCheckpointException">A tensor cannot be read.</exception>
    public static IReadOnlyList<MatrixRanks> Profile(TensorStore model, RankProfileOptions? options = null, IProgress<(int Done, int Total)>? progress = null,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new RankProfileOptions();
        var covered = model.Tensors.Where(options.Covers).ToList();
        var result = new List<MatrixRanks>(covered.Count);
        foreach (var info in covered)
        {
            ct.ThrowIfCancellationRequested();
            result.Add(Profile(model, info, options));
            progress?.Report((result.Count, covered.Count));
        }
        return result;
    }

    /// <summary>The ranks of one matrix.</summary>
    public static MatrixRanks Profile(TensorStore model, TensorInfo info, RankProfileOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(info);
        options ??= new RankProfileOptions();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var type = ComputeType(info, options);
        Tensor w;
        using (var buffer = model.Read(info.Name)) w = buffer.ToTorch(type).view(info.Shape[0], info.Shape[1]);
        var sigma = linalg.svdvals(w).to_type(ScalarType.Float64).contiguous().data<double>().ToArray();
        return Ranks(info, sigma, type);
    }

    /// <summary>float64 up to <see cref="RankProfileOptions.MaxFloat64Elements"/>, else float32.</summary>
    internal static ScalarType ComputeType(TensorInfo info, RankProfileOptions options) =>
        info.ElementCount <= options.MaxFloat64Elements ? ScalarType.Float64 : ScalarType.Float32;

    internal static MatrixRanks Ranks(TensorInfo info, double[] singularValues, ScalarType type)
    {
        var name = TensorNames.Parse(info.Name);
        double epsilon = type == ScalarType.Float64 ? Math.Pow(2, -52) : Math.Pow(2, -23);
        return new MatrixRanks(info.Name, name.Layer, name.Role, info.Shape[0], info.Shape[1], singularValues, epsilon);
    }
}
