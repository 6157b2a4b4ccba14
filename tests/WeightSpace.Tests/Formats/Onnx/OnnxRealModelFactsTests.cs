using WeightSpace.Formats.Onnx;

namespace WeightSpace.Tests.Formats.Onnx;

/// <summary>Headline facts from shared/data/README.md, the external-data expected files and pairs.json.</summary>
public sealed class OnnxRealModelFactsTests
{
    [Fact]
    public void SileroLegacy_Initializers_MatchReadmeCounts()
    {
        using var model = OnnxReader.Open(SharedData.Require("onnx/silero_vad/silero_vad_legacy.onnx"));
        Assert.Equal(259, model.Weights.Count(w => w.Kind == OnnxWeightKind.Initializer));
        Assert.Equal(190, model.Weights.Count(w => w.GraphPath != "graph"));
        Assert.Equal(445_117, model.ParameterCount);
        Assert.Equal(["Equal", "If"], model.Graph.Nodes.Select(n => n.OpType).Distinct().Order());
        Assert.Equal(new[] { DType.F32, DType.I64 }, model.Tensors.Select(t => t.DType).Distinct().Order());
        Assert.Contains(model.Tensors, t => t.Name == "1110");
        Assert.Equal(["input", "sr", "h", "c"], model.Graph.Inputs.Select(i => i.Name));
        var ifNode = model.Graph.Nodes.Single(n => n.OpType == "If");
        Assert.Equal(["graph/If_25.else_branch", "graph/If_25.then_branch"], ifNode.Attributes.SelectMany(a => a.SubgraphPaths).Order());
        Assert.All(ifNode.Attributes, a => Assert.Equal(OnnxAttributeType.Graph, a.Type));
    }

    [Theory]
    [InlineData("onnx/silero_vad/silero_vad_v5.onnx")]
    [InlineData("onnx/silero_vad/silero_vad_v6.onnx")]
    public void SileroV5V6_Constants_MatchReadmeCounts(string file)
    {
        using var model = OnnxReader.Open(SharedData.Require(file));
        Assert.Equal(341, model.Weights.Count);
        Assert.All(model.Weights, w => Assert.Equal(OnnxWeightKind.Constant, w.Kind));
        Assert.Equal(340, model.Weights.Count(w => w.GraphPath != "graph"));
        Assert.Equal(545_597, model.ParameterCount);
        Assert.Contains(model.Weights, w => w.Storage == OnnxStorage.TypedField && w.Info.DType == DType.I64);
        Assert.Equal("spox", model.ProducerName);
        Assert.Equal("8", model.Metadata["onnx.ir_version"]);
        Assert.Equal("ai.onnx:16", model.Metadata["onnx.opset_import"]);
    }

    [Fact]
    public void PpocrDet_Constants_HaveSixEmptyTensors()
    {
        using var model = OnnxReader.Open(SharedData.Require("onnx/ppocr/ch_PP-OCRv4_det_infer.onnx"));
        Assert.Equal(342, model.Weights.Count);
        Assert.Equal(672, model.Graph.Nodes.Count);
        Assert.Equal(1_171_841, model.ParameterCount);
        var empty = model.Weights.Where(w => w.Info.Shape.SequenceEqual([0L])).ToList();
        Assert.Equal(6, empty.Count);
        Assert.All(empty, w => Assert.Equal(OnnxStorage.Empty, w.Storage));
        using var buffer = model.Read(empty[0].Info.Name);
        Assert.Equal(0, buffer.ByteCount);
        Assert.Equal(66, model.Tensors.Count(t => t.Shape.Rank == 4));
        Assert.Equal(new long[] { 384, 384, 1, 1 }, model.Tensors.Where(t => t.Shape.Rank == 4).MaxBy(t => t.ElementCount)!.Shape);
    }

    [Fact]
    public void PpocrRec_Constants_HoldTransformerAndIntegerTypes()
    {
        using var model = OnnxReader.Open(SharedData.Require("onnx/ppocr/ch_PP-OCRv4_rec_infer.onnx"));
        Assert.Equal(325, model.Weights.Count);
        Assert.Equal(765, model.Graph.Nodes.Count);
        Assert.Equal(2_690_312, model.ParameterCount);
        Assert.Equal(new long[] { 120, 360 }, model.GetInfo("linear_77.w_0").Shape);
        Assert.Equal(new long[] { 120, 6625 }, model.GetInfo("linear_85.w_0").Shape);
        Assert.Contains(model.Tensors, t => t.DType == DType.I32);
        Assert.Contains(model.Tensors, t => t.DType == DType.I64);
        Assert.Equal(38, model.Graph.Nodes.Count(n => n.OpType == "Conv"));
    }

    [Fact]
    public void DigitsMlp_Graph_ExposesGemmWiring()
    {
        using var model = OnnxReader.Open(SharedData.Require("digits_mlp/mlp_seed0.onnx"));
        Assert.Equal(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"], model.Tensors.Select(t => t.Name));
        var gemms = model.Graph.Nodes.Where(n => n.OpType == "Gemm").ToList();
        Assert.Equal(3, gemms.Count);
        Assert.Equal("fc1.weight", gemms[0].Inputs[1]);
        var transB = gemms[0].Attributes.Single(a => a.Name == "transB");
        Assert.Equal(OnnxAttributeType.Int, transB.Type);
        Assert.Equal([1L], transB.Ints);
        Assert.Equal("batch", model.Graph.Inputs[0].Dimensions![0].Symbol);
        Assert.Equal(64, model.Graph.Inputs[0].Dimensions![1].Value);
    }

    [Theory]
    [InlineData("onnx/external/silero_vad_legacy")]
    [InlineData("onnx/external/hello_deepa_per_tensor")]
    [InlineData("onnx/external/ppocr_cls_constants")]
    public void ExternalVariant_Locations_MatchExpected(string folder)
    {
        using var doc = SharedData.Json(folder + "/expected.json");
        var root = doc.RootElement;
        using var model = OnnxReader.Open(Path.Combine(SharedData.Require(folder), "model.onnx"));
        var external = model.Weights.Where(w => w.Storage == OnnxStorage.External).ToList();
        Assert.Equal(root.GetProperty("external_tensor_count").GetInt32(), external.Count);
        Assert.Equal(root.GetProperty("inline_tensor_count").GetInt32(), model.Weights.Count - external.Count);
        int i = 0;
        foreach (var e in root.GetProperty("external_tensors").EnumerateArray())
        {
            var w = external[i++];
            Assert.Equal(e.GetProperty("name").GetString(), w.OnnxName);
            Assert.Equal(e.GetProperty("graph").GetString(), w.GraphPath);
            Assert.Equal(e.GetProperty("kind").GetString(), w.Kind == OnnxWeightKind.Initializer ? "initializer" : "Constant");
            Assert.Equal(e.GetProperty("location").GetString(), w.External!.Location);
            Assert.Equal(e.TryGetProperty("offset", out var o) ? long.Parse(o.GetString()!) : null, w.External.Offset);
            Assert.Equal(e.TryGetProperty("length", out var l) ? long.Parse(l.GetString()!) : null, w.External.Length);
        }
        int distinctFiles = external.Select(w => w.External!.FullPath).Distinct().Count();
        Assert.Equal(distinctFiles, model.ExternalFileCount);
        Assert.Equal(folder.EndsWith("per_tensor", StringComparison.Ordinal) ? 10 : 1, distinctFiles);
    }

    [Fact]
    public void ExternalSileroLegacy_Values_EqualInlineModel()
    {
        using var inline = OnnxReader.Open(SharedData.Require("onnx/silero_vad/silero_vad_legacy.onnx"));
        using var external = OnnxReader.Open(SharedData.Require("onnx/external/silero_vad_legacy/model.onnx"));
        Assert.Equal(inline.Tensors, external.Tensors);
        Assert.Contains(external.Weights, w => w.Storage == OnnxStorage.External && w.GraphPath != "graph");
        foreach (var t in inline.Tensors)
        {
            using var a = inline.Read(t.Name);
            using var b = external.Read(t.Name);
            Assert.True(a.Bytes.SequenceEqual(b.Bytes), t.Name);
        }
    }

    [Fact]
    public void SileroV5V6_Tensors_LineUpAndExactly28Differ()
    {
        using var v5 = OnnxReader.Open(SharedData.Require("onnx/silero_vad/silero_vad_v5.onnx"));
        using var v6 = OnnxReader.Open(SharedData.Require("onnx/silero_vad/silero_vad_v6.onnx"));
        Assert.Equal(v5.Tensors, v6.Tensors);
        Assert.Equal(v5.Weights.Select(w => w.GraphPath), v6.Weights.Select(w => w.GraphPath));

        var differing = new List<string>();
        foreach (var t in v5.Tensors)
        {
            using var a = v5.Read(t.Name);
            using var b = v6.Read(t.Name);
            if (!a.Bytes.SequenceEqual(b.Bytes)) differing.Add(t.Name);
        }
        Assert.Equal(28, differing.Count);
        Assert.DoesNotContain(differing, n => n.Contains("stft", StringComparison.Ordinal));

        // pairs.json lists the float tensors of 2+ elements that differ, with float64 norms of b − a.
        using var doc = SharedData.Json("onnx/expected/pairs.json");
        var pair = doc.RootElement.GetProperty("pairs").EnumerateArray()
            .Single(p => p.GetProperty("a").GetString() == "onnx/silero_vad/silero_vad_v5.onnx");
        var listed = pair.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(pair.GetProperty("differing_float_tensors").GetInt32(), listed.Count);
        Assert.Equal(listed.Select(e => e.GetProperty("name").GetString()!),
            differing.Where(n => v5.GetInfo(n).ElementCount >= 2));
        foreach (var e in listed)
        {
            string name = e.GetProperty("name").GetString()!;
            double[] a = v5.ReadDouble(name), b = v6.ReadDouble(name);
            double diff = 0;
            for (int i = 0; i < a.Length; i++) diff += (b[i] - a[i]) * (b[i] - a[i]);
            double expected = e.GetProperty("norm_b_minus_a").GetDouble();
            Assert.True(Math.Abs(Math.Sqrt(diff) - expected) <= 1e-12 * expected, $"{name}: |b-a| {Math.Sqrt(diff)} vs {expected}");
        }
    }

    public static TheoryData<string> AllModelFiles => new(
        "onnx/silero_vad/silero_vad_legacy.onnx", "onnx/silero_vad/silero_vad_v5.onnx", "onnx/openwakeword/hello_deepa.onnx",
        "onnx/ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx", "digits_mlp/mlp_seed0.onnx", "onnx/external/hello_deepa_per_tensor/model.onnx");

    [Theory]
    [MemberData(nameof(AllModelFiles))]
    public void LooksLikeOnnx_RealModelHead_True(string file)
    {
        string path = SharedData.Require(file);
        byte[] head = File.ReadAllBytes(path).AsSpan(0, 64).ToArray();
        Assert.True(OnnxReader.LooksLikeOnnx(head, new FileInfo(path).Length));
    }

    [Theory]
    [InlineData("safetensors/mlp.safetensors")]
    [InlineData("torch/mlp_state_dict.pt")]
    [InlineData("torch/mlp_state_dict_legacy.pth")]
    [InlineData("torch/malicious/popen_raw.pkl")]
    [InlineData("datasets/sklearn/iris.csv")]
    [InlineData("onnx/expected/pairs.json")]
    public void LooksLikeOnnx_OtherFormatHead_False(string file)
    {
        string path = SharedData.Require(file);
        var bytes = File.ReadAllBytes(path);
        Assert.False(OnnxReader.LooksLikeOnnx(bytes.AsSpan(0, Math.Min(64, bytes.Length)), bytes.Length));
    }
}
