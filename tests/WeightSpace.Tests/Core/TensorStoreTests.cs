using System.Runtime.InteropServices;

namespace WeightSpace.Tests.Core;

public sealed class TensorStoreTests
{
    [Fact]
    public void Lookups_SeeTensorsAddedAfterTheFirstLookup()
    {
        var store = new InMemoryTensorStore("mem").Add("a", [1f, 2f], 2);
        Assert.True(store.Contains("a"));
        Assert.False(store.Contains("b"));
        store.Add("b", [3f, 4f, 5f, 6f], 2, 2);
        Assert.True(store.Contains("b"));
        Assert.True(store.TryGetInfo("b", out var info));
        Assert.Equal(new Shape(2, 2), info.Shape);
        Assert.False(store.TryGetInfo("B", out _));   // names are ordinal
    }

    [Fact]
    public void Totals_SumEveryTensor()
    {
        var store = new InMemoryTensorStore()
            .Add("a", [1f, 2f, 3f], 3)
            .Add(new TensorInfo("h", DType.F16, new Shape(2, 5)), new byte[20]);
        Assert.Equal(13, store.ParameterCount);
        Assert.Equal(32, store.ByteCount);
        Assert.Equal(["a", "h"], store.Tensors.Select(t => t.Name));
        Assert.EndsWith(", 2 tensors)", store.ToString());
    }

    [Fact]
    public void MissingTensor_ThrowsTypedErrorNamingStoreAndTensor()
    {
        using var store = new InMemoryTensorStore("model.safetensors").Add("a", [1f], 1);
        var e = Assert.Throws<TensorNotFoundException>(() => store.Read("lm_head.weight"));
        Assert.IsAssignableFrom<WeightSpaceException>(e);
        Assert.Contains("lm_head.weight", e.Message);
        Assert.Contains("model.safetensors", e.Message);
        Assert.Throws<TensorNotFoundException>(() => store.GetInfo("b"));
    }

    [Fact]
    public void ReadSingleAndDouble_ConvertTheStoredDType()
    {
        // BF16 0x3FC0 = 1.5, 0xC040 = -3.
        ushort[] bf16 = [0x3FC0, 0xC040];
        using var store = new InMemoryTensorStore().Add(new TensorInfo("b", DType.BF16, new Shape(2)), MemoryMarshal.AsBytes(bf16.AsSpan()));
        Assert.Equal(new float[] { 1.5f, -3f }, store.ReadSingle("b"));
        Assert.Equal(new double[] { 1.5, -3 }, store.ReadDouble("b"));
    }

    [Fact]
    public void Add_RejectsDuplicatesAndWrongByteCounts()
    {
        var store = new InMemoryTensorStore().Add("a", [1f], 1);
        Assert.Throws<ArgumentException>(() => store.Add("a", [2f], 1));
        var e = Assert.Throws<ArgumentException>(() => store.Add("c", [1f, 2f, 3f], 2));
        Assert.Contains("'c'", e.Message);
        Assert.Single(store.Tensors);
    }

    [Fact]
    public void Add_CopiesTheCallersValues()
    {
        float[] values = [1f, 2f];
        var store = new InMemoryTensorStore().Add("a", values, 2);
        values[0] = 99f;
        Assert.Equal(new float[] { 1f, 2f }, store.ReadSingle("a"));
    }

    [Fact]
    public void Metadata_IsEmptyUntilSet()
    {
        var store = new InMemoryTensorStore();
        Assert.Empty(store.Metadata);
        store.WithMetadata("format", "pt");
        Assert.Equal("pt", store.Metadata["format"]);
    }
}
