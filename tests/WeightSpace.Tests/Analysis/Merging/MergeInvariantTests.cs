using WeightSpace.Analysis.Merging;
using WeightSpace.Analysis.Merging.Methods;
using static WeightSpace.Tests.Analysis.Merging.MergeTestKit;

namespace WeightSpace.Tests.Analysis.Merging;

public class MergeInvariantTests
{
    // Parameters under which merging N copies of one model must return it: weights averaging to 1 (or normalised),
    // densities 1 so nothing is dropped, iso_c's α = 1/N because it sums rather than averages.
    private static Dictionary<string, double[]> IdentityParameters(IMergeMethod method, int n)
    {
        var p = new Dictionary<string, double[]>();
        foreach (var spec in method.Parameters)
        {
            switch (spec.Name)
            {
                case "weight": p["weight"] = Enumerable.Repeat(1.0 / n, n).ToArray(); break;
                case "density": p["density"] = [1]; break;
                case "t": p["t"] = [0.4]; break;
                case "alpha" when method.Name == "iso_c": p["alpha"] = [1.0 / n]; break;
            }
        }
        return p;
    }

    public static TheoryData<string> Methods() => new(MergeMethods.All.Keys.Order());

    [Theory]
    [MemberData(nameof(Methods))]
    public void Merge_IdenticalModels_ReturnsThem(string name)
    {
        var method = MergeMethods.All[name];
        int n = Math.Clamp(3, method.MinimumModels, method.MaximumModels);
        float[] baseValues = [0.1f, -0.2f, 0.3f, 0.05f, 0f, 0.7f];
        float[] model = [0.6f, -0.9f, 1.3f, -0.45f, 0.25f, 0.2f];
        // 1-D so SVD methods take their non-matrix path; their matrix path is checked by hand in GeometricMethodTests.
        // Slerp, nearswap and arcee_fusion combine the base with one model (they are defined by how the two differ),
        // so "identical" includes the base.
        if (name is "slerp" or "nearswap" or "arcee_fusion") baseValues = model;
        var r = Merge(name, method.BaseModel == BaseModelRole.Ignored ? null : baseValues,
            Enumerable.Repeat(model, n).ToArray(), IdentityParameters(method, n));
        Close(model, r, 1e-5);
    }

    [Fact]
    public void Registry_UnknownName_ListsValidNames()
    {
        var ex = Assert.Throws<MergeConfigException>(() => MergeMethods.Get("tie"));
        Assert.Contains("dare_ties", ex.Message);
        Assert.Contains("'tie'", ex.Message);
    }

    [Fact]
    public void Registry_EveryMethod_HasPaperAndDocumentedParameters()
    {
        Assert.Equal(22, MergeMethods.All.Count);
        foreach (var m in MergeMethods.All.Values)
        {
            Assert.True(m.Paper.IsAbsoluteUri, m.Name);
            Assert.All(m.Parameters, p => Assert.False(string.IsNullOrWhiteSpace(p.Description)));
        }
    }

    /// <summary>A plug-in built from public types only: the interface is implementable outside the library.</summary>
    private sealed class Maximum : IMergeMethod
    {
        public string Name => "maximum";
        public Uri Paper => new("https://example.org/maximum");
        public BaseModelRole BaseModel => BaseModelRole.Ignored;
        public int MinimumModels => 1;
        public int MaximumModels => int.MaxValue;
        public IReadOnlyList<ParameterSpec> Parameters => [];
        public void Merge(in MergeInputs inputs, Span<float> destination)
        {
            inputs.Models[0].Span.CopyTo(destination);
            for (int i = 1; i < inputs.Models.Count; i++)
                System.Numerics.Tensors.TensorPrimitives.Max(destination, inputs.Models[i].Span, destination);
        }
    }

    [Fact]
    public void PublicApi_CustomMethod_MergesThroughInputs()
    {
        var m = new Maximum();
        var inputs = new MergeInputs(new TensorInfo("w", DType.F32, new Shape(3)), Memory<float>.Empty,
            [new float[] { 1, 5, -2 }, new float[] { 3, 0, -1 }], MergeParameters.Create(m.Parameters, 2), 0);
        var r = new float[3];
        m.Merge(inputs, r);
        Assert.Equal([3f, 5, -1], r);
    }
}
