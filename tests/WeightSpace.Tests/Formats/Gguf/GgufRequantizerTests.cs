using WeightSpace.Formats.Gguf;
using WeightSpace.Tests.Cli;

namespace WeightSpace.Tests.Formats.Gguf;

/// <summary>GGUF writing: re-quantising the shared F32 file must reproduce what llama.cpp's llama-quantize wrote.</summary>
public sealed class GgufRequantizerTests
{
    [Fact]
    public void Q8_0_OfTheF32File_EqualsLlamaQuantize_BlocksAndMetadata()
    {
        // llama-quantize lists the tensors in another order (its loader's), so the files are compared tensor by tensor
        // (same length: same padding) and key by key.
        string output = Path.Combine(SharedData.TempFolder(), "q8_0.gguf");
        GgufRequantizer.Write(SharedData.Require("gguf/tinyllama/tinyllama-f32.gguf"), output, DType.Q8_0);
        string reference = SharedData.Require("gguf/tinyllama/tinyllama-q8_0.gguf");
        Assert.Equal(new FileInfo(reference).Length, new FileInfo(output).Length);
        var options = new GgufOptions { Naming = GgufNaming.Gguf };
        using var ours = GgufReader.Open(output, options);
        using var theirs = GgufReader.Open(reference, options);
        Assert.Equal(theirs.KeyValues.Select(kv => (kv.Key, kv.Value.Type, kv.Value.ToString(1000))), ours.KeyValues.Select(kv => (kv.Key, kv.Value.Type, kv.Value.ToString(1000))));
        Assert.Equal(theirs.StoredTensors.Select(t => t.Name).Order(StringComparer.Ordinal), ours.StoredTensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var t in theirs.StoredTensors)
        {
            using var a = ours.Read(t.Name);
            using var b = theirs.Read(t.Name);
            Assert.Equal(b.Info, a.Info);
            Assert.True(b.Bytes.SequenceEqual(a.Bytes), $"tensor '{t.Name}' differs from llama-quantize's {t.TypeName} bytes");
        }
    }

    [Fact]
    public void Q4_0_Tensors_EqualLlamaQuantizeBlocks()
    {
        string output = Path.Combine(SharedData.TempFolder(), "q4_0.gguf");
        GgufRequantizer.Write(SharedData.Require("gguf/tinyllama/tinyllama-f32.gguf"), output, DType.Q4_0);
        var options = new GgufOptions { Naming = GgufNaming.Gguf };
        using var ours = GgufReader.Open(output, options);
        using var theirs = GgufReader.Open(SharedData.Require("gguf/tinyllama/tinyllama-q4_0.gguf"), options);
        int compared = 0;
        foreach (var t in theirs.StoredTensors.Where(t => t.DType == DType.Q4_0))
        {
            using var a = ours.Read(t.Name);
            using var b = theirs.Read(t.Name);
            Assert.Equal(DType.Q4_0, a.Info.DType);
            Assert.True(b.Bytes.SequenceEqual(a.Bytes), $"tensor '{t.Name}' differs from llama-quantize's Q4_0 blocks");
            compared++;
        }
        Assert.Equal(29, compared);
        Assert.Equal(DType.F32, ours.GetInfo("output_norm.weight").DType);
        Assert.Equal(2u, (uint)ours.Find("general.file_type")!.Value);
    }

    [Theory]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    [InlineData(DType.F32)]
    public void FloatTypes_RoundTripThroughOurReader(DType type)
    {
        string source = SharedData.Require("gguf/tinyllama/tinyllama-q6_k.gguf");
        string output = Path.Combine(SharedData.TempFolder(), "out.gguf");
        GgufRequantizer.Write(source, output, type);
        using var a = GgufReader.Open(source);
        using var b = GgufReader.Open(output);
        Assert.Equal(a.KeyValues.Select(kv => kv.Key).Where(k => k != "general.file_type"), b.KeyValues.Select(kv => kv.Key).Where(k => k != "general.file_type"));
        foreach (var t in a.Tensors)
        {
            float[] x = a.ReadSingle(t.Name), y = b.ReadSingle(t.Name);
            float[] expected = x;   // 1-D tensors stay F32
            if (t.Shape.Rank > 1)
            {
                var bytes = new byte[type.ByteCount(x.Length)];
                DTypeConversion.FromSingle(x, type, bytes);
                expected = new float[x.Length];
                DTypeConversion.ToSingle(bytes, type, expected);
            }
            Assert.Equal(expected, y);
        }
    }

    [Fact]
    public void ConvertCommand_GgufToGguf_WritesTheType_AndRefusesUnknownTypes()
    {
        string source = SharedData.Require("gguf/tinyllama/tinyllama-q8_0.gguf");
        string output = Path.Combine(SharedData.TempFolder(), "out.gguf");
        Assert.Equal(0, CliRunner.Run("convert", source, output, "--type", "q4_0").ExitCode);
        using (var store = GgufReader.Open(output)) Assert.Equal(DType.Q4_0, store.GetInfo("model.layers.0.mlp.up_proj.weight").DType);
        Assert.Equal(2, CliRunner.Run("convert", source, output, "--type", "q3_k").ExitCode);
        Assert.Equal(2, CliRunner.Run("convert", source, output).ExitCode);
    }
}
