using WeightSpace.Analysis.Connectivity;

namespace WeightSpace.Tests.Analysis.Connectivity;

/// <summary>The plane's geometry, hand-computed: A = 0, B − A = (2, 0), C − A = (1, 2) in some orthonormal basis.</summary>
public sealed class PlaneGridTests
{
    [Fact]
    public void Create_HandComputedTriangle_PlacesModelsAndWeighsGridPoints()
    {
        // ⟨B−A,B−A⟩ = 4, ⟨C−A,C−A⟩ = 5, ⟨B−A,C−A⟩ = 2: u = (1, 0), c_u = 1, v component of C = 2.
        var grid = PlaneGrid.Create(4, 5, 2, resolution: 3, margin: 0);
        Assert.Equal([0.0, 2.0, 1.0], grid.ModelX);
        Assert.Equal([0.0, 0.0, 2.0], grid.ModelY);
        Assert.Equal([0.0, 1.0, 2.0], grid.X);
        Assert.Equal([0.0, 1.0, 2.0], grid.Y);
        Assert.Equal((1.0, 0.0, 0.0), grid.Weights(0, 0));   // A
        Assert.Equal((0.0, 1.0, 0.0), grid.Weights(2, 0));   // B
        Assert.Equal((0.0, 0.0, 1.0), grid.Weights(1, 2));   // C
        // (1, 1) = A + ½(B−A) + ½·((C−A) − ½(B−A))... solved: w_C = ½, w_B = ½ − ½·½ = ¼.
        Assert.Equal((0.25, 0.25, 0.5), grid.Weights(1, 1));
    }

    [Fact]
    public void Create_CollinearModels_Throws()
    {
        // C − A = 2(B − A): ⟨C−A,C−A⟩ = 16, ⟨B−A,C−A⟩ = 8 with ⟨B−A,B−A⟩ = 4.
        var e = Assert.Throws<WeightSpaceException>(() => PlaneGrid.Create(4, 16, 8, 3, 0.2));
        Assert.Contains("collinear", e.Message);
    }
}
