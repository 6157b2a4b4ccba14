using WeightSpace.Analysis.Naming;
using WeightSpace.Analysis.RankProfile;
using WeightSpace.Formats;

namespace WeightSpace.Tests.Analysis.RankProfile;

public sealed class RankProfileTests
{
    [Fact]
    public void Energy_ranks_of_a_hand_computed_spectrum()
    {
        // σ = 3, 2, 1: energies 9/14, 13/14, 14/14.
        var m = new MatrixRanks("w", null, TensorRole.Other, 3, 3, [3, 2, 1], Math.Pow(2, -52));
        Assert.Equal(1, m.RankAtEnergy(0.6));
        Assert.Equal(2, m.RankAtEnergy(0.9));
        Assert.Equal(3, m.RankAtEnergy(0.95));
        Assert.Equal(3, m.RankAtEnergy(0.99));
        Assert.Equal(3, m.RankAtEnergy(1));
        Assert.Equal(3, m.NumericalRank);
    }

    // A rank-4 integer matrix [rows, cols]: A [rows, 4] · B [4, cols] with small integers, exact in float32.
    internal static float[] PlantedRank(int rows, int cols, int rank, int seed)
    {
        var rng = new Random(seed);
        var a = Enumerable.Range(0, rows * rank).Select(_ => rng.Next(-3, 4)).ToArray();
        var b = Enumerable.Range(0, rank * cols).Select(_ => rng.Next(-3, 4)).ToArray();
        var w = new float[rows * cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                for (int r = 0; r < rank; r++) w[i * cols + j] += a[i * rank + r] * b[r * cols + j];
        return w;
    }

    [Fact]
    public void Rank_at_100_percent_energy_is_the_numerical_rank_of_a_planted_low_rank_matrix()
    {
        using var store = new InMemoryTensorStore().Add("model.layers.0.mlp.up_proj.weight", PlantedRank(20, 30, 4, 3), 20, 30);
        var m = Assert.Single(RankProfiler.Profile(store, ct: TestContext.Current.CancellationToken));
        Assert.Equal(20, m.FullRank);
        Assert.Equal(4, m.NumericalRank);
        Assert.Equal(m.NumericalRank, m.RankAtEnergy(1));
        Assert.True(m.SingularValues[4] < 1e-12 * m.SingularValues[0]);
        Assert.Equal(TensorRole.Up, m.Role);
        Assert.Equal(0, m.Layer);
    }

    private static (string Dir, TensorStore Store) Compress(InMemoryTensorStore input, string spec, bool factors = false)
    {
        string dir = Path.Combine(SharedData.TempFolder(), "out");
        LowRankCompression.Write(input, RankSelection.Parse(spec), dir, new LowRankCompressionOptions { Factors = factors }, TestContext.Current.CancellationToken);
        return (dir, Checkpoint.Open(dir));
    }

    [Fact]
    public void Full_rank_reproduces_the_weights_and_rank_r_of_a_planted_rank_r_matrix_is_exact()
    {
        var rng = new Random(5);
        float[] full = [.. Enumerable.Range(0, 12 * 8).Select(_ => (float)rng.Next(-9, 10))];
        float[] planted = PlantedRank(16, 10, 3, 9);
        float[] norm = [1, 2, 3, 4, 5, 6, 7, 8];
        InMemoryTensorStore Input() => new InMemoryTensorStore()
            .Add("model.layers.0.self_attn.q_proj.weight", full, 12, 8)
            .Add("model.layers.0.mlp.down_proj.weight", planted, 16, 10)
            .Add("model.layers.0.input_layernorm.weight", norm, 8);

        using (var input = Input())
        {
            var (_, output) = Compress(input, "rank:8");
            using (output)
            {
                AssertReproduces(full, output.ReadSingle("model.layers.0.self_attn.q_proj.weight"));
                AssertReproduces(planted, output.ReadSingle("model.layers.0.mlp.down_proj.weight"));
                Assert.Equal(norm, output.ReadSingle("model.layers.0.input_layernorm.weight"));
                Assert.Equal(DType.F32, output.GetInfo("model.layers.0.mlp.down_proj.weight").DType);
            }
        }
        using (var input = Input())
        {
            string file = Path.Combine(SharedData.TempFolder(), "r.json");
            File.WriteAllText(file, """{"ranks": {"model.layers.0.mlp.down_proj.weight": 3}}""");
            var (_, output) = Compress(input, file);
            using (output)
            {
                AssertReproduces(planted, output.ReadSingle("model.layers.0.mlp.down_proj.weight"));
                Assert.Equal(full, output.ReadSingle("model.layers.0.self_attn.q_proj.weight"));   // not named: copied byte for byte
            }
        }
        using (var input = Input())
        {
            var (_, output) = Compress(input, "energy:1", factors: true);
            using (output)
            {
                var u = output.ReadSingle("model.layers.0.mlp.down_proj.weight_u");
                var v = output.ReadSingle("model.layers.0.mlp.down_proj.weight_v");
                Assert.Equal([16L, 3], output.GetInfo("model.layers.0.mlp.down_proj.weight_u").Shape.ToArray());
                for (int i = 0; i < 16; i++)
                    for (int j = 0; j < 10; j++)
                        Assert.Equal(planted[i * 10 + j], Enumerable.Range(0, 3).Sum(r => (double)u[i * 3 + r] * v[r * 10 + j]), 1e-4);
                Assert.False(output.Contains("model.layers.0.mlp.down_proj.weight"));
            }
        }
    }

    // Integer entries come back exactly; zeros as float64 rounding residue (≤ 1e-12 of the largest entry).
    private static void AssertReproduces(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        float scale = expected.Max(MathF.Abs);
        for (int i = 0; i < expected.Length; i++)
            if (expected[i] != 0) Assert.Equal(expected[i], actual[i]);
            else Assert.True(MathF.Abs(actual[i]) <= 1e-12f * scale, $"element {i}: {actual[i]}");
    }

    [Fact]
    public void Rank_r_of_a_full_rank_matrix_loses_exactly_the_tail_energy()
    {
        var rng = new Random(2);
        float[] w = [.. Enumerable.Range(0, 10 * 10).Select(_ => (float)(rng.NextDouble() - 0.5))];
        using var input = new InMemoryTensorStore().Add("model.layers.0.mlp.up_proj.weight", w, 10, 10);
        var sigma = RankProfiler.Profile(input, ct: TestContext.Current.CancellationToken)[0].SingularValues;
        string dir = Path.Combine(SharedData.TempFolder(), "out");
        var result = Assert.Single(LowRankCompression.Write(input, RankSelection.Parse("rank:4"), dir, ct: TestContext.Current.CancellationToken));
        using var output = Checkpoint.Open(dir);
        var wr = output.ReadSingle("model.layers.0.mlp.up_proj.weight");
        double err = Math.Sqrt(w.Zip(wr).Sum(p => Math.Pow(p.First - p.Second, 2))), norm = Math.Sqrt(w.Sum(x => (double)x * x));
        double tail = Math.Sqrt(sigma.Skip(4).Sum(s => s * s));
        Assert.Equal(tail / norm, result.RelativeError, 1e-12);
        Assert.Equal(tail, err, 1e-5);   // Eckart–Young, up to float32 rounding of W_r
    }

    [Theory]
    [InlineData("energy:1.5", "energy fraction must be a number in (0, 1]")]
    [InlineData("rank:0", "rank must be a positive integer")]
    [InlineData("nonsense", "is neither energy:F, suggested, rank:N nor an existing JSON file")]
    public void Bad_rank_profile_specs_are_one_error_naming_the_option(string spec, string message)
    {
        var e = Assert.Throws<InvalidRankProfileException>(() => RankSelection.Parse(spec));
        Assert.StartsWith("--rank-profile: ", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("{not json", "is not valid JSON")]
    [InlineData("""{"model.layers.0.mlp.up_proj.weight": 2.5}""", "rank 2.5 is not a positive integer")]
    [InlineData("""{"missing.weight": 2}""", "tensor 'missing.weight' is not in")]
    [InlineData("""{"model.layers.0.mlp.up_proj.weight": 11}""", "rank 11 exceeds its full rank 10")]
    [InlineData("[1, 2]", "must be a JSON object")]
    public void Bad_rank_profile_files_are_one_error_naming_the_file_and_tensor_and_write_nothing(string content, string message)
    {
        string folder = SharedData.TempFolder();
        string file = Path.Combine(folder, "bad.json");
        File.WriteAllText(file, content);
        using var input = new InMemoryTensorStore().Add("model.layers.0.mlp.up_proj.weight", new float[100], 10, 10);
        string dir = Path.Combine(folder, "out");
        var e = Assert.Throws<InvalidRankProfileException>(() => LowRankCompression.Write(input, RankSelection.Parse(file), dir, ct: TestContext.Current.CancellationToken));
        Assert.StartsWith(file + ": ", e.Message);
        Assert.Contains(message, e.Message);
        Assert.False(Directory.Exists(dir));
        Assert.Single(Directory.GetFileSystemEntries(folder));
    }
}
