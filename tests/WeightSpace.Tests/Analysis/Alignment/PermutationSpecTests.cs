using System.Text;
using WeightSpace.Analysis.Alignment;

namespace WeightSpace.Tests.Analysis.Alignment;

/// <summary>Spec builders, the JSON schema and its errors, and Apply's function preservation.</summary>
public sealed class PermutationSpecTests
{
    [Fact]
    public void Mlp_ThreeLayers_ChainsHiddenGroups()
    {
        var spec = PermutationSpec.Mlp(Fixtures.Mlp(0, 4, 5, 6, 3));
        Assert.Equal(["P_fc1", "P_fc2"], spec.Groups);
        Assert.Equal(["P_fc1", null], spec.AxesOf("fc1.weight"));
        Assert.Equal(["P_fc1"], spec.AxesOf("fc1.bias"));
        Assert.Equal(["P_fc2", "P_fc1"], spec.AxesOf("fc2.weight"));
        Assert.Equal([null, "P_fc2"], spec.AxesOf("fc3.weight"));
        Assert.Equal([null], spec.AxesOf("fc3.bias"));
        Assert.Equal(new Dictionary<string, int> { ["P_fc1"] = 5, ["P_fc2"] = 6 }, spec.ResolveSizes(Fixtures.Mlp(0, 4, 5, 6, 3)));
    }

    [Fact]
    public void Mlp_NumberedLayersStoredAlphabetically_UsesNaturalOrder()
    {
        // Alphabetical order puts layers.10 before layers.2; the chain must still be 0 → 2 → 10.
        var store = new InMemoryTensorStore()
            .Add("layers.0.weight", new float[6], 3, 2)
            .Add("layers.10.weight", new float[4], 1, 4)
            .Add("layers.2.weight", new float[12], 4, 3);
        var spec = PermutationSpec.Mlp(store);
        Assert.Equal(["P_layers.2", "P_layers.0"], spec.AxesOf("layers.2.weight"));
        Assert.Equal([null, "P_layers.2"], spec.AxesOf("layers.10.weight"));
    }

    [Fact]
    public void Sequential_CnnWithBatchNorm_SharesConvGroupWithNormAndBlocksTheFlatten()
    {
        var (store, arch) = Fixtures.Cnn(0);
        var spec = PermutationSpec.FromArchitecture(arch, store);
        Assert.Equal(["P_layers.0", "P_layers.2", "P_layers.4"], spec.Groups);
        Assert.Equal(["P_layers.0", null, null, null], spec.AxesOf("layers.0.weight"));
        Assert.Equal(["P_layers.0"], spec.AxesOf("layers.1.running_var"));
        Assert.Equal(["P_layers.2", "P_layers.0", null, null], spec.AxesOf("layers.2.weight"));
        Assert.Equal(["P_layers.4", "P_layers.2"], spec.AxesOf("layers.4.weight"));
        Assert.Empty(spec.AxesOf("layers.1.num_batches_tracked"));
        Assert.Equal(8, spec.ResolveSizes(store)["P_layers.2"]);   // layers.4 reads 8 channels × 2×2 = 32 inputs
    }

    [Fact]
    public void Apply_RandomPermutationOfMlp_KeepsOutputs()
    {
        var store = Fixtures.Mlp(1, 8, 16, 12, 4);
        var spec = PermutationSpec.Mlp(store);
        var permuted = spec.Apply(store, Fixtures.RandomPermutations(5, spec.ResolveSizes(store)));
        var data = Fixtures.Data(2, 20, new Shape(8), 4);
        var arch = Fixtures.MlpArchitecture(3);

        var expected = Fixtures.Outputs(arch, store, data);
        var actual = Fixtures.Outputs(arch, permuted, data);

        Assert.False(store.ReadSingle("fc1.weight").SequenceEqual(permuted.ReadSingle("fc1.weight")));
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5f);
    }

    [Fact]
    public void Apply_RandomPermutationOfCnnWithBatchNorm_KeepsOutputs()
    {
        var (store, arch) = Fixtures.Cnn(3);
        var spec = PermutationSpec.FromArchitecture(arch, store);
        var permuted = spec.Apply(store, Fixtures.RandomPermutations(9, spec.ResolveSizes(store)));
        var data = Fixtures.Data(4, 16, new Shape(8, 8), 3);

        var expected = Fixtures.Outputs(arch, store, data);
        var actual = Fixtures.Outputs(arch, permuted, data);

        Assert.False(store.ReadSingle("layers.4.weight").SequenceEqual(permuted.ReadSingle("layers.4.weight")));
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5f);
    }

    [Fact]
    public void Apply_HandPermutation_MovesRowsColumnsAndBias()
    {
        var store = new InMemoryTensorStore()
            .Add("fc1.weight", [1, 2, 3, 4, 5, 6], 3, 2)       // rows (1,2) (3,4) (5,6)
            .Add("fc1.bias", [10, 20, 30], 3)
            .Add("fc2.weight", [7, 8, 9], 1, 3);
        var spec = PermutationSpec.Mlp(store);
        var result = spec.Apply(store, new Dictionary<string, int[]> { ["P_fc1"] = [2, 0, 1] });
        Assert.Equal([5f, 6, 1, 2, 3, 4], result.ReadSingle("fc1.weight"));
        Assert.Equal([30f, 10, 20], result.ReadSingle("fc1.bias"));
        Assert.Equal([9f, 7, 8], result.ReadSingle("fc2.weight"));
    }

    [Fact]
    public void Apply_NotAPermutation_ThrowsNamingGroup()
    {
        var store = Fixtures.Mlp(0, 2, 3, 1);
        var spec = PermutationSpec.Mlp(store);
        var e = Assert.Throws<InvalidPermutationSpecException>(() => spec.Apply(store, new Dictionary<string, int[]> { ["P_fc1"] = [0, 0, 1] }));
        Assert.Contains("P_fc1", e.Message);
    }

    [Fact]
    public void ResNet_TorchvisionNames_SharesOneStreamPerStage()
    {
        var store = TinyResNet.Store(0);
        var spec = PermutationSpec.ResNet(store);
        // Stage 1 has no downsample: its blocks write the stem's stream. Stage 2 opens P_layer2 through its downsample.
        Assert.Equal(["P_stem", null, null, null], spec.AxesOf("conv1.weight"));
        Assert.Equal(["P_layer1.0.conv1", "P_stem", null, null], spec.AxesOf("layer1.0.conv1.weight"));
        Assert.Equal(["P_stem", "P_layer1.0.conv1", null, null], spec.AxesOf("layer1.0.conv2.weight"));
        Assert.Equal(["P_stem"], spec.AxesOf("layer1.0.bn2.weight"));
        Assert.Equal(["P_layer2", "P_stem", null, null], spec.AxesOf("layer2.0.downsample.0.weight"));
        Assert.Equal(["P_layer2"], spec.AxesOf("layer2.0.downsample.1.running_mean"));
        Assert.Equal(["P_layer2.0.conv1", "P_stem", null, null], spec.AxesOf("layer2.0.conv1.weight"));
        Assert.Equal(["P_layer2", "P_layer2.0.conv1", null, null], spec.AxesOf("layer2.0.conv2.weight"));
        Assert.Equal(["P_layer2.1.conv1", "P_layer2", null, null], spec.AxesOf("layer2.1.conv1.weight"));
        Assert.Equal(["P_layer2", "P_layer2.1.conv1", null, null], spec.AxesOf("layer2.1.conv2.weight"));
        Assert.Equal([null, "P_layer2"], spec.AxesOf("fc.weight"));
    }

    [Fact]
    public void ResNet_RandomPermutation_KeepsOutputs()
    {
        var store = TinyResNet.Store(1);
        var spec = PermutationSpec.ResNet(store);
        var permuted = spec.Apply(store, Fixtures.RandomPermutations(3, spec.ResolveSizes(store)));
        var data = Fixtures.Data(5, 6, new Shape(3, 8, 8), 4);
        var expected = TinyResNet.Forward(store, data);
        var actual = TinyResNet.Forward(permuted, data);
        Assert.False(store.ReadSingle("layer2.0.conv2.weight").SequenceEqual(permuted.ReadSingle("layer2.0.conv2.weight")));
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-4f);
    }

    [Fact]
    public void Json_RoundTrip_KeepsAxes()
    {
        var (store, arch) = Fixtures.Cnn(0);
        var spec = PermutationSpec.FromArchitecture(arch, store);
        string path = Path.Combine(SharedData.TempFolder(), "spec.json");
        File.WriteAllText(path, spec.ToJson());

        var back = PermutationSpec.Load(path);

        Assert.Equal(spec.Tensors, back.Tensors);
        Assert.Equal(spec.Groups, back.Groups);
        foreach (string t in spec.Tensors) Assert.Equal(spec.AxesOf(t), back.AxesOf(t));
        Assert.Equal(path, back.Source);
    }

    [Fact]
    public void Json_HandWritten_Parses()
    {
        var spec = PermutationSpec.Parse("""{"axes": {"a.weight": ["P", null], "a.bias": ["P"], "b.weight": [null, "P"]}}"""u8);
        Assert.Equal(["P"], spec.Groups);
        Assert.Equal([new PermutationAxis("a.weight", 0), new PermutationAxis("a.bias", 0), new PermutationAxis("b.weight", 1)], spec.Members("P"));
    }

    [Theory]
    [InlineData("[1, 2]", "top level must be an object")]
    [InlineData("{\"axes\": {\"a\": [\"P\", \"P\"]}}", "has group 'P' on axes 0 and 1")]
    [InlineData("{\"axes\": {\"a\": [3]}}", "tensor 'a' axis 0: expected a group name or null, got Number")]
    [InlineData("{\"axes\": {\"a\": \"P\"}}", "tensor 'a': expected an array")]
    [InlineData("{\"axis\": {}}", "unknown key \"axis\"")]
    [InlineData("{\"format\": \"other/2\", \"axes\": {}}", "\"format\" must be")]
    [InlineData("{\"axes\": {\"a\": [\"\"]}}", "empty group name")]
    [InlineData("{\"axes\": ", "not valid JSON")]
    public void Json_BadSpec_ThrowsNamingSource(string json, string fragment)
    {
        var e = Assert.Throws<InvalidPermutationSpecException>(() => PermutationSpec.Parse(Encoding.UTF8.GetBytes(json), "my-spec.json"));
        Assert.StartsWith("my-spec.json: ", e.Message);
        Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void ResolveSizes_MissingTensor_ThrowsNamingTensor()
    {
        var spec = PermutationSpec.Parse("""{"axes": {"fc9.weight": ["P", null]}}"""u8, "s.json");
        var e = Assert.Throws<InvalidPermutationSpecException>(() => spec.ResolveSizes(Fixtures.Mlp(0, 2, 3, 1)));
        Assert.Contains("'fc9.weight'", e.Message);
    }

    [Fact]
    public void ResolveSizes_RankMismatch_ThrowsNamingTensor()
    {
        var spec = PermutationSpec.Parse("""{"axes": {"fc1.bias": ["P", null]}}"""u8, "s.json");
        var e = Assert.Throws<InvalidPermutationSpecException>(() => spec.ResolveSizes(Fixtures.Mlp(0, 2, 3, 1)));
        Assert.Contains("'fc1.bias' has 2 axes in the spec but shape [3]", e.Message);
    }

    [Fact]
    public void ResolveSizes_LengthNotMultiple_ThrowsNamingTensor()
    {
        var spec = PermutationSpec.Parse("""{"axes": {"fc1.weight": ["P", null], "fc2.weight": ["P", null]}}"""u8, "s.json");
        var e = Assert.Throws<InvalidPermutationSpecException>(() => spec.ResolveSizes(Fixtures.Mlp(0, 2, 3, 2)));
        Assert.Contains("'fc1.weight' axis 0 has length 3, not a multiple of group 'P' size 2", e.Message);
    }
}
