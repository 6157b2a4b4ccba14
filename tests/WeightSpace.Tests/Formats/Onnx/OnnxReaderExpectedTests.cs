using System.Text.Json;
using WeightSpace.Formats.Onnx;

namespace WeightSpace.Tests.Formats.Onnx;

/// <summary>Every model under shared/data/onnx reproduces the expected JSON the onnx Python package wrote.</summary>
public sealed class OnnxReaderExpectedTests
{
    public static TheoryData<string> Models => new(OnnxExpected.ModelFiles);

    [Theory]
    [MemberData(nameof(Models))]
    public void Open_RealModel_MatchesModelSummary(string expectedFile)
    {
        using var doc = SharedData.Json("onnx/expected/" + expectedFile);
        var root = doc.RootElement;
        using var model = OnnxReader.Open(SharedData.Require(root.GetProperty("file").GetString()!));

        Assert.Equal(CheckpointFormat.Onnx, model.Format);
        Assert.Equal(root.GetProperty("ir_version").GetInt64(), model.IrVersion);
        Assert.Equal(root.GetProperty("producer").GetString(), $"{model.ProducerName} {model.ProducerVersion}".Trim());
        Assert.Equal(
            root.GetProperty("opset_import").EnumerateArray().Select(o => (o.GetProperty("domain").GetString(), o.GetProperty("version").GetInt64())),
            model.OpsetImports.Select(o => ((string?)o.Domain, o.Version)));
        Assert.Equal(root.GetProperty("weight_tensor_count").GetInt32(), model.Weights.Count);
        Assert.Equal(root.GetProperty("weight_element_count").GetInt64(), model.ParameterCount);
        var byKind = root.GetProperty("weights_by_kind");
        Assert.Equal(byKind.GetProperty("initializer").GetInt32(), model.Weights.Count(w => w.Kind == OnnxWeightKind.Initializer));
        Assert.Equal(byKind.GetProperty("Constant").GetInt32(), model.Weights.Count(w => w.Kind == OnnxWeightKind.Constant));
        Assert.Equal(root.GetProperty("weights_in_subgraphs").GetInt32(), model.Weights.Count(w => w.GraphPath != "graph"));
        Assert.Empty(model.Unsupported);
        Assert.Equal(model.Weights.Count, model.Tensors.Select(t => t.Name).Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Open_RealModel_MatchesTopLevelGraph(string expectedFile)
    {
        using var doc = SharedData.Json("onnx/expected/" + expectedFile);
        var root = doc.RootElement;
        using var model = OnnxReader.Open(SharedData.Require(root.GetProperty("file").GetString()!));
        var graph = model.Graph;

        Assert.Equal(root.GetProperty("top_level_node_count").GetInt32(), graph.Nodes.Count);
        var ops = root.GetProperty("top_level_op_counts").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.Equal(ops, graph.Nodes.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count()));

        var initializers = graph.InitializerNames.ToHashSet(StringComparer.Ordinal);
        AssertValueInfos(root.GetProperty("inputs"), graph.Inputs.Where(i => !initializers.Contains(i.Name)).ToList());
        AssertValueInfos(root.GetProperty("outputs"), graph.Outputs);
        Assert.Equal(model.Weights.Where(w => w.GraphPath == "graph" && w.Kind == OnnxWeightKind.Initializer).Select(w => w.OnnxName),
            graph.InitializerNames);
    }

    private static void AssertValueInfos(JsonElement expected, IReadOnlyList<OnnxValueInfo> actual)
    {
        Assert.Equal(expected.GetArrayLength(), actual.Count);
        int i = 0;
        foreach (var e in expected.EnumerateArray())
        {
            var a = actual[i++];
            Assert.Equal(e.GetProperty("name").GetString(), a.Name);
            Assert.Equal(e.GetProperty("elem_type").GetString(), OnnxDataTypes.Name(a.ElementType));
            var dims = e.GetProperty("shape").EnumerateArray().Select(d => d.ValueKind switch
            {
                JsonValueKind.Number => d.GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
                JsonValueKind.String => d.GetString(),
                _ => "?",
            }).ToList();
            Assert.NotNull(a.Dimensions);
            Assert.Equal(dims, a.Dimensions!.Select(d => d.ToString()));
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Read_EveryWeight_MatchesExpectedValues(string expectedFile)
    {
        using var doc = SharedData.Json("onnx/expected/" + expectedFile);
        var root = doc.RootElement;
        bool externalLoaded = expectedFile.StartsWith("external__", StringComparison.Ordinal);
        using var model = OnnxReader.Open(SharedData.Require(root.GetProperty("file").GetString()!));
        var tensors = root.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(tensors.Count, model.Weights.Count);

        for (int i = 0; i < tensors.Count; i++)
        {
            var e = tensors[i];
            var w = model.Weights[i];
            string name = e.GetProperty("name").GetString()!;
            string at = $"{expectedFile} #{i} {name}";
            Assert.True(name == w.OnnxName, $"{at}: name {w.OnnxName}");
            Assert.True(e.GetProperty("graph").GetString() == w.GraphPath, $"{at}: graph {w.GraphPath}");
            Assert.True(e.GetProperty("kind").GetString() == (w.Kind == OnnxWeightKind.Initializer ? "initializer" : "Constant"), at);
            Assert.True(e.GetProperty("dtype").GetString() == OnnxDataTypes.Name(w.DataType), $"{at}: dtype {w.DataType}");
            Assert.Equal(e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()), w.Info.Shape);
            Assert.True(e.GetProperty("storage").GetString() == OnnxExpected.StorageName(w, externalLoaded), $"{at}: storage {w.Storage}");

            using var buffer = model.Read(w.Info.Name);
            Assert.True(e.GetProperty("sha256_le").GetString() == OnnxExpected.Sha256(buffer.Bytes), $"{at}: sha256");
            if (w.Info.DType.IsFloatingPoint()) AssertFloatSummary(e, buffer.ToDoubleArray(), at);
            else AssertIntegerSummary(e, IntegerValues(buffer), at);
        }
    }

    // Integers go through long, not double: INT64 constants such as ±2⁶³−1 do not survive a double.
    private static long[] IntegerValues(TensorBuffer buffer)
    {
        var bytes = buffer.Bytes;
        return buffer.Info.DType switch
        {
            DType.I64 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(bytes).ToArray(),
            DType.I32 => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(bytes).ToArray().Select(v => (long)v).ToArray(),
            _ => buffer.ToDoubleArray().Select(v => (long)v).ToArray(),
        };
    }

    private static void AssertIntegerSummary(JsonElement e, long[] values, string at)
    {
        Assert.Equal(e.GetProperty("first").EnumerateArray().Select(v => v.GetInt64()), values.Take(6));
        if (values.Length > 0)
        {
            Assert.Equal(e.GetProperty("min").GetInt64(), values.Min());
            Assert.Equal(e.GetProperty("max").GetInt64(), values.Max());
        }
        long sum = 0;
        foreach (long v in values) sum = unchecked(sum + v);   // numpy's int64 sum wraps the same way
        Assert.True(e.GetProperty("sum").GetInt64() == sum, $"{at}: integer sum {sum}");
    }

    private static void AssertFloatSummary(JsonElement e, double[] values, string at)
    {
        var first = e.GetProperty("first").EnumerateArray().Select(OnnxExpected.Number).ToArray();
        Assert.Equal(first, values.Take(first.Length).ToArray());
        if (values.Length > 0)
        {
            Assert.Equal(OnnxExpected.Number(e.GetProperty("min")), values.Min());
            Assert.Equal(OnnxExpected.Number(e.GetProperty("max")), values.Max());
        }
        var fsum = e.GetProperty("sum_fsum");
        if (fsum.ValueKind == JsonValueKind.String && fsum.GetString() == "non-finite")
        {
            Assert.Contains(values, v => !double.IsFinite(v));
            return;
        }
        // math.fsum is correctly rounded; a compensated sum errs by at most ~2u·Σ|x| (u = 1.1e-16), so 1e-13·Σ|x|
        // leaves a wide margin yet catches any wrong element (the smallest nonzero |x| here is far above it).
        double sumAbs = OnnxExpected.CompensatedSum(values, absolute: true);
        double tolerance = 1e-13 * sumAbs;
        Assert.True(Math.Abs(OnnxExpected.Number(e.GetProperty("sum_abs_fsum")) - sumAbs) <= tolerance, $"{at}: sum_abs {sumAbs}");
        double sum2 = OnnxExpected.CompensatedSum(values, absolute: false);
        Assert.True(Math.Abs(OnnxExpected.Number(fsum) - sum2) <= tolerance, $"{at}: sum {sum2} vs {fsum}");
    }
}
