using MathNet.Numerics.LinearAlgebra;
using WeightSpace.Analysis.Similarity;

namespace WeightSpace.Tests.Analysis.Similarity;

public sealed class RepresentationSimilarityTests
{
    private static float[] Flat(Matrix<double> m) => [.. Enumerable.Range(0, m.RowCount).SelectMany(i => Enumerable.Range(0, m.ColumnCount).Select(j => (float)m[i, j]))];

    private static Matrix<double> RandomMatrix(int rows, int cols, int seed)
    {
        var rng = new Random(seed);
        return Matrix<double>.Build.Dense(rows, cols, (_, _) => rng.NextDouble() * 2 - 1);
    }

    [Fact]
    public void Hand_computed_one_dimensional_case()
    {
        // x = 1,2,3,4 and y = 1,1,2,2: centred cross product 2, ‖x_c‖² = 5, ‖y_c‖² = 1, so CKA = corr² = 4/5,
        // the least-squares fit explains 4/5, and the best orthogonal map (±1) gives |x̃·ỹ| = 2/√5.
        var s = RepresentationSimilarity.Compare([1, 2, 3, 4], [1, 1, 2, 2], 4);
        Assert.Equal(0.8, s.Cka, 12);
        Assert.Equal(0.8, s.Linearity, 12);
        Assert.Equal(2 / Math.Sqrt(5), s.Procrustes!.Value, 12);
    }

    [Fact]
    public void CKA_of_a_layer_with_itself_is_1_and_invariant_to_orthogonal_transforms_and_isotropic_scaling()
    {
        var x = RandomMatrix(200, 16, 1);
        var q = RandomMatrix(16, 16, 2).QR().Q;   // a random orthogonal matrix
        var same = RepresentationSimilarity.Compare(Flat(x), Flat(x), 200);
        Assert.Equal(1, same.Cka, 10);
        Assert.Equal(1, same.Linearity, 10);
        Assert.Equal(1, same.Procrustes!.Value, 10);
        var rotated = RepresentationSimilarity.Compare(Flat(x), Flat(x * q * 3.5), 200);
        Assert.Equal(1, rotated.Cka, 5);          // float32 storage of the rotated copy
        Assert.Equal(1, rotated.Procrustes!.Value, 5);
        var y = RandomMatrix(200, 16, 3);
        double cka = RepresentationSimilarity.LinearCka(Flat(x), Flat(y), 200);
        Assert.Equal(cka, RepresentationSimilarity.LinearCka(Flat(x), Flat(y * q * 0.25), 200), 5);
        Assert.InRange(cka, 0, 0.5);             // unrelated random representations
    }

    [Fact]
    public void Linearity_is_1_for_any_invertible_linear_map_but_Procrustes_only_for_rotations()
    {
        var x = RandomMatrix(300, 8, 4);
        var a = RandomMatrix(8, 8, 5) + Matrix<double>.Build.DenseIdentity(8) * 3;
        var s = RepresentationSimilarity.Compare(Flat(x), Flat(x * a), 300);
        Assert.Equal(1, s.Linearity, 5);
        Assert.True(s.Procrustes < 0.999, $"procrustes {s.Procrustes}");
        Assert.True(s.Cka < 0.999, $"cka {s.Cka}");
    }

    [Fact]
    public void Weight_only_CKA_is_1_for_an_orthogonal_transform_of_the_output_space()
    {
        var w = RandomMatrix(6, 40, 6);              // [out, in]: 40 input coordinates as samples
        var q = RandomMatrix(6, 6, 7).QR().Q;
        using var a = new InMemoryTensorStore().Add("model.layers.0.mlp.up_proj.weight", Flat(w), 6, 40);
        using var b = new InMemoryTensorStore().Add("model.layers.0.mlp.up_proj.weight", Flat(q * w * 2), 6, 40);
        using var c = new InMemoryTensorStore().Add("model.layers.0.mlp.up_proj.weight", Flat(RandomMatrix(6, 40, 8)), 6, 40);
        var info = a.Tensors[0];
        Assert.Equal(1, LayerSimilarity.CompareWeights(a, info, b, info).Cka, 5);
        Assert.True(LayerSimilarity.CompareWeights(a, info, c, info).Cka < 0.9);
    }

    [Fact]
    public void Rows_that_do_not_divide_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => RepresentationSimilarity.Compare([1, 2, 3], [1, 2, 3, 4], 2));
    }
}
