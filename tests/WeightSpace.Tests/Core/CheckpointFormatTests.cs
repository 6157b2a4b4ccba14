namespace WeightSpace.Tests.Core;

/// <summary>Formats are identified by name: equal names are the same format, built-in or not, and a bad name is refused.</summary>
public sealed class CheckpointFormatTests
{
    [Fact]
    public void SameName_SameFormat_BuiltInOrNot()
    {
        Assert.Equal(CheckpointFormat.Gguf, new CheckpointFormat("gguf"));
        Assert.True(CheckpointFormat.Safetensors == new CheckpointFormat("safetensors"));
        Assert.NotEqual(CheckpointFormat.Onnx, CheckpointFormat.PyTorch);
        Assert.Equal("pytorch", CheckpointFormat.PyTorch.ToString());
    }

    [Fact]
    public void AFormatOutsideWeightSpace_NeedsNoCoreChange() =>
        Assert.Equal("npz", new CheckpointFormat("npz").Name);

    [Theory]
    [InlineData("")]
    [InlineData("SafeTensors")]
    [InlineData("my format")]
    public void InvalidName_Refused(string name) =>
        Assert.ThrowsAny<ArgumentException>(() => new CheckpointFormat(name));
}
