using WeightSpace.Formats;
using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Tests.Formats;

public sealed class CheckpointTests
{
    /// <summary>Every real, non-hostile model in ../shared/data, in all three formats.</summary>
    public static TheoryData<string> RealModels => new(
        "safetensors/mlp.safetensors", "safetensors/dtypes.safetensors", "safetensors/no_metadata.safetensors",
        "safetensors/cnn_sharded", "safetensors/face_recognition_resnet/model.safetensors.index.json",
        "torch/checkpoint_protocol4.pt", "torch/cnn_state_dict.pth", "torch/dtypes_legacy.pt", "torch/dtypes_zip.pt",
        "torch/mlp_parameters_keep_vars.bin", "torch/mlp_state_dict.pt", "torch/mlp_state_dict_legacy.pth",
        "torch/nested_metadata.pt", "torch/nested_metadata_nofloat_legacy.pth", "torch/shared_storage_legacy.pt",
        "torch/shared_storage_zip.pt", "torch/tied_weights.pt",
        "digits_mlp/mlp_seed0.pt", "digits_mlp/mlp_ft_invert.pt",
        "onnx/silero_vad/silero_vad_legacy.onnx", "onnx/silero_vad/silero_vad_v5.onnx",
        "onnx/openwakeword/hello_deepa.onnx", "onnx/ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx",
        "onnx/ppocr/ch_PP-OCRv4_rec_infer.onnx", "onnx/external/silero_vad_legacy/model.onnx",
        "onnx/external/hello_deepa_per_tensor/model.onnx", "onnx/external/ppocr_cls_constants/model.onnx",
        "digits_mlp/mlp_seed1.onnx");

    [Theory]
    [InlineData("safetensors/mlp.safetensors", "safetensors")]
    [InlineData("safetensors/cnn_sharded", "safetensors")]
    [InlineData("safetensors/cnn_sharded/model.safetensors.index.json", "safetensors")]
    [InlineData("torch/mlp_state_dict.pt", "pytorch")]
    [InlineData("torch/mlp_state_dict_legacy.pth", "pytorch")]
    [InlineData("onnx/silero_vad/silero_vad_v5.onnx", "onnx")]
    public void Identify_RealFile_PicksFormatByContent(string relative, string expected) =>
        Assert.Equal(new CheckpointFormat(expected), Checkpoint.Identify(SharedData.Require(relative)).Format);

    [Theory]
    [InlineData("torch/mlp_state_dict.pt", ".onnx", "pytorch")]
    [InlineData("onnx/openwakeword/hello_deepa.onnx", ".safetensors", "onnx")]
    [InlineData("safetensors/mlp.safetensors", ".pt", "safetensors")]
    public void Open_MisleadingExtension_StillReadsByContent(string relative, string extension, string expected)
    {
        string copy = Path.Combine(SharedData.TempFolder(), "renamed" + extension);
        File.Copy(SharedData.Require(relative), copy);
        using var store = Checkpoint.Open(copy);
        Assert.Equal(expected, store.Format.Name);
        Assert.NotEmpty(store.Tensors);
    }

    [Theory]
    [MemberData(nameof(RealModels))]
    public void ConvertToSafetensors_EveryRealModel_BytesIdenticalPerTensor(string relative)
    {
        string output = Path.Combine(SharedData.TempFolder(), "out.safetensors");
        using var source = Checkpoint.Open(SharedData.Require(relative));
        SafetensorsWriter.Copy(source, output);
        using var copy = Checkpoint.Open(output);
        Assert.Equal(CheckpointFormat.Safetensors, copy.Format);
        Assert.Equal(source.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal), copy.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var info in source.Tensors)
        {
            Assert.Equal(info, copy.GetInfo(info.Name));
            using var a = source.Read(info.Name);
            using var b = copy.Read(info.Name);
            Assert.True(a.Bytes.SequenceEqual(b.Bytes), $"{relative}: tensor '{info.Name}' bytes differ after conversion");
        }
    }

    [Fact]
    public void Open_EmptyFile_ThrowsUnsupportedFormatNamingFile()
    {
        string path = Path.Combine(SharedData.TempFolder(), "empty.safetensors");
        File.WriteAllBytes(path, []);
        var e = Assert.Throws<UnsupportedFormatException>(() => Checkpoint.Open(path));
        Assert.Contains("empty.safetensors", e.Message);
    }

    [Fact]
    public void Open_DirectoryWithoutCheckpoint_ThrowsUnsupportedFormat()
    {
        string dir = SharedData.TempFolder();
        File.WriteAllText(Path.Combine(dir, "README.md"), "no weights here");
        Assert.Throws<UnsupportedFormatException>(() => Checkpoint.Open(dir));
    }

    [Fact]
    public void Open_MissingPath_ThrowsFileNotFound() =>
        Assert.Throws<FileNotFoundException>(() => Checkpoint.Open(Path.Combine(SharedData.TempFolder(), "missing.pt")));
}
