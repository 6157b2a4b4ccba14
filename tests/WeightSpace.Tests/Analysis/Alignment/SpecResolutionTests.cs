using WeightSpace.Analysis.Alignment;
using WeightSpace.Analysis.Evaluation;

namespace WeightSpace.Tests.Analysis.Alignment;

/// <summary><see cref="PermutationSpec.Resolve"/> and <see cref="NetworkArchitecture.FromName"/>: the library side of
/// <c>--spec</c> and <c>--arch</c>.</summary>
public sealed class SpecResolutionTests
{
    [Fact]
    public void Resolve_BuiltInNames_MatchTheBuilders()
    {
        var store = Fixtures.Mlp(0, 4, 5, 6, 3);
        Assert.Equal(PermutationSpec.Mlp(store).Groups.Length, PermutationSpec.Resolve("mlp", store).Groups.Length);
        Assert.Equal(PermutationSpec.Sequential(store).Groups.Length, PermutationSpec.Resolve("sequential", store).Groups.Length);
        var arch = NetworkArchitecture.FromName("mlp", store);
        Assert.Equal(PermutationSpec.FromArchitecture(arch, store).Groups.Length, PermutationSpec.Resolve("auto", store, architecture: arch).Groups.Length);
    }

    [Fact]
    public void Resolve_UnknownOrUnderivable_IsATypedError()
    {
        var store = Fixtures.Mlp(0, 4, 5, 6, 3);
        Assert.Contains("not one of auto, mlp, resnet, sequential", Assert.Throws<InvalidPermutationSpecException>(() => PermutationSpec.Resolve("vgg", store)).Message);
        Assert.Contains("needs an ONNX export", Assert.Throws<InvalidPermutationSpecException>(() => PermutationSpec.Resolve("auto", store)).Message);
    }

    [Fact]
    public void FromName_UnknownName_AndWrongTensors()
    {
        var store = Fixtures.Mlp(0, 4, 5, 6, 3);
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => NetworkArchitecture.FromName("transformer", store)).ParamName);
        Assert.Throws<InvalidCheckpointException>(() => NetworkArchitecture.FromName("cnn", store));
    }
}
