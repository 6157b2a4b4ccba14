using TorchSharp;
using WeightSpace.Analysis.Tensors;
using WeightSpace.Formats;

namespace WeightSpace.Tests.Analysis.Tensors;

public sealed class TorchTensorsTests
{
    [Fact]
    public void ToTorch_F32Matrix_KeepsShapeAndValues()
    {
        using var store = new InMemoryTensorStore().Add("w", [1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        using var buffer = store.Read("w");
        using var t = buffer.ToTorch();
        Assert.Equal(new long[] { 2, 3 }, t.shape);
        Assert.Equal(6f, t[1, 2].item<float>());
        Assert.Equal(torch.ScalarType.Float32, t.dtype);
    }

    [Fact]
    public void ToTorch_EveryDTypeOfRealFixture_EqualsConvertedFloats()
    {
        using var store = Checkpoint.Open(SharedData.Require("safetensors/dtypes.safetensors"));
        foreach (var info in store.Tensors)
        {
            using var scope = torch.NewDisposeScope();
            using var buffer = store.Read(info.Name);
            var t = buffer.ToTorch(torch.ScalarType.Float64);
            Assert.Equal(info.Shape.ToArray(), t.shape);
            double[] expected = buffer.ToDoubleArray();
            double[] actual = t.flatten().data<double>().ToArray();
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++)
                Assert.True(expected[i].Equals(actual[i]), $"{info.Name}[{i}]: {expected[i]} vs {actual[i]}");   // Equals: NaN == NaN
        }
    }
}
