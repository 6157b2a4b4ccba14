using System.Security.Cryptography;
using System.Text.Json;
using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Tests.Formats.Safetensors;

/// <summary>The reader against the shared fixtures' expected.json, written by PyTorch/numpy, not by us.</summary>
public sealed class SafetensorsFixtureTests
{
    public static TheoryData<string> SingleFiles => new() { "dtypes", "mlp", "no_metadata" };

    [Theory]
    [MemberData(nameof(SingleFiles))]
    public void Open_SingleFixture_MatchesExpectedJson(string stem)
    {
        string path = SharedData.Require($"safetensors/{stem}.safetensors");
        using var expected = SharedData.Json($"safetensors/{stem}.expected.json");
        var root = expected.RootElement;

        var header = SafetensorsHeader.Read(path, new SafetensorsOptions());
        Assert.Equal(root.GetProperty("header_length").GetInt64(), header.HeaderLength);
        Assert.Equal(root.GetProperty("byte_buffer_length").GetInt64(), header.FileLength - header.DataStart);
        foreach (var entry in header.Entries)
        {
            var offsets = root.GetProperty("tensors").GetProperty(entry.Info.Name).GetProperty("data_offsets");
            Assert.Equal(offsets[0].GetInt64(), entry.Begin);
            Assert.Equal(offsets[1].GetInt64(), entry.End);
        }

        using var store = SafetensorsReader.Open(path);
        Assert.Equal(CheckpointFormat.Safetensors, store.Format);
        Assert.Equal(root.GetProperty("tensor_count").GetInt32(), store.Tensors.Count);
        var byOffset = root.GetProperty("tensors").EnumerateObject()
            .OrderBy(p => p.Value.GetProperty("data_offsets")[0].GetInt64())
            .ThenBy(p => p.Value.GetProperty("data_offsets")[1].GetInt64())
            .Select(p => p.Name).ToList();
        Assert.Equal(byOffset, store.Tensors.Select(t => t.Name).ToList());
        AssertMetadata(root.GetProperty("metadata"), store.Metadata, exact: true);
        foreach (var tensor in root.GetProperty("tensors").EnumerateObject())
            ExpectedTensor.AssertMatches(store, tensor.Name, tensor.Value);
    }

    public static TheoryData<string, string, int> Sharded => new()
    {
        { "safetensors/cnn_sharded", "", 15 },
        { "safetensors/cnn_sharded", "model.safetensors.index.json", 15 },
        { "safetensors/face_recognition_resnet", "", 117 },
        { "safetensors/face_recognition_resnet", "model.safetensors.index.json", 117 },
    };

    [Theory]
    [MemberData(nameof(Sharded))]
    public void Open_ShardedFixture_MatchesExpectedJson(string folder, string file, int tensorCount)
    {
        string dir = SharedData.Require(folder);
        using var expected = SharedData.Json($"{folder}/expected.json");
        var root = expected.RootElement;
        using var store = SafetensorsReader.Open(file.Length == 0 ? dir : Path.Combine(dir, file));

        Assert.Equal(tensorCount, root.GetProperty("tensor_count").GetInt32());
        Assert.Equal(tensorCount, store.Tensors.Count);
        Assert.Equal(root.GetProperty("total_size").GetInt64(), store.ByteCount);
        AssertMetadata(root.GetProperty("metadata"), store.Metadata, exact: false);
        Assert.Equal(root.GetProperty("total_size").GetInt64().ToString(), store.Metadata["total_size"]);

        // Store order: shard by shard (model-00001 first), each in byte-buffer order.
        var expectedOrder = new List<string>();
        foreach (var shard in root.GetProperty("shards").EnumerateArray())
        {
            var header = SafetensorsHeader.Read(Path.Combine(dir, shard.GetProperty("file").GetString()!), new SafetensorsOptions());
            Assert.Equal(shard.GetProperty("tensor_count").GetInt32(), header.Entries.Count);
            expectedOrder.AddRange(header.Entries.Select(e => e.Info.Name));
            foreach (var entry in header.Entries)
                Assert.Equal(shard.GetProperty("file").GetString(), root.GetProperty("tensors").GetProperty(entry.Info.Name).GetProperty("shard").GetString());
        }
        Assert.Equal(expectedOrder, store.Tensors.Select(t => t.Name).ToList());
        foreach (var tensor in root.GetProperty("tensors").EnumerateObject())
            ExpectedTensor.AssertMatches(store, tensor.Name, tensor.Value);
    }

    public static TheoryData<string> DigitsModels => new() { "seed0", "seed1", "ft_fliplr", "ft_invert" };

    [Theory]
    [MemberData(nameof(DigitsModels))]
    public void Open_DigitsMlp_HasTheDescribedLayers(string model)
    {
        using var expected = SharedData.Json("digits_mlp/expected.json");
        var file = expected.RootElement.GetProperty("files").GetProperty(model).GetProperty("safetensors");
        string path = SharedData.Require(file.GetProperty("file").GetString()!);
        Assert.Equal(file.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));

        using var store = SafetensorsReader.Open(path);
        // "MLP fc1 64->128, relu, fc2 128->128, relu, fc3 128->10 (torch.nn.Linear: weight [out,in])"
        var layers = new (string Name, long[] Shape)[]
        {
            ("fc1.bias", [128]), ("fc1.weight", [128, 64]), ("fc2.bias", [128]),
            ("fc2.weight", [128, 128]), ("fc3.bias", [10]), ("fc3.weight", [10, 128]),
        };
        Assert.Equal(layers.Select(l => l.Name), store.Tensors.Select(t => t.Name));
        foreach (var (name, shape) in layers)
        {
            Assert.Equal(DType.F32, store.GetInfo(name).DType);
            Assert.Equal(shape, store.GetInfo(name).Shape.ToArray());
        }
        Assert.Equal(model, store.Metadata["run"]);
    }

    [Theory]
    [InlineData("ft_fliplr")]
    [InlineData("ft_invert")]
    public void Open_DigitsFineTunes_TaskVectorNormMatchesTorch(string model)
    {
        using var expected = SharedData.Json("digits_mlp/expected.json");
        double norm = expected.RootElement.GetProperty("task_arithmetic").GetProperty("tau_norms").GetProperty(model).GetDouble();
        using var baseline = SafetensorsReader.Open(SharedData.Require("digits_mlp/mlp_seed0.safetensors"));
        using var tuned = SafetensorsReader.Open(SharedData.Require($"digits_mlp/mlp_{model}.safetensors"));
        double sumSquares = 0;
        foreach (var info in baseline.Tensors)
        {
            float[] a = tuned.ReadSingle(info.Name), b = baseline.ReadSingle(info.Name);
            for (int i = 0; i < a.Length; i++)
            {
                double tau = a[i] - b[i];   // float32 subtraction, as torch computed tau
                sumSquares += tau * tau;
            }
        }
        // Only the summation order differs from torch's float64 reduction: 1e-12 relative covers it.
        Assert.Equal(norm, Math.Sqrt(sumSquares), norm * 1e-12);
    }

    [Theory]
    [InlineData("seed0")]
    [InlineData("seed1")]
    public void Open_DigitsMlp_ForwardPassReproducesTorchLogits(string model)
    {
        using var expected = SharedData.Json("digits_mlp/expected.json");
        var batch = expected.RootElement.GetProperty("reference_batch");
        using var store = SafetensorsReader.Open(SharedData.Require($"digits_mlp/mlp_{model}.safetensors"));
        int row = 0;
        foreach (var x in batch.GetProperty("x").EnumerateArray())
        {
            double[] h = x.EnumerateArray().Select(v => v.GetDouble()).ToArray();
            h = Linear(store, "fc1", h, relu: true);
            h = Linear(store, "fc2", h, relu: true);
            h = Linear(store, "fc3", h, relu: false);
            var logits = batch.GetProperty("logits").GetProperty(model)[row++].EnumerateArray().Select(v => v.GetDouble()).ToArray();
            // torch ran in float32 (~1e-7 relative per operation over 128-term dot products); we run in float64.
            for (int i = 0; i < logits.Length; i++) Assert.Equal(logits[i], h[i], 1e-4 * Math.Max(1, Math.Abs(logits[i])));
        }
    }

    private static double[] Linear(TensorStore store, string layer, double[] input, bool relu)
    {
        double[] w = store.ReadDouble(layer + ".weight"), b = store.ReadDouble(layer + ".bias");
        var output = new double[b.Length];
        for (int o = 0; o < output.Length; o++)
        {
            double s = b[o];
            for (int i = 0; i < input.Length; i++) s += w[o * input.Length + i] * input[i];
            output[o] = relu ? Math.Max(0, s) : s;
        }
        return output;
    }

    internal static void AssertMetadata(JsonElement expected, IReadOnlyDictionary<string, string> actual, bool exact)
    {
        if (expected.ValueKind == JsonValueKind.Null)
        {
            Assert.Empty(actual);
            return;
        }
        var pairs = expected.EnumerateObject().ToList();
        if (exact) Assert.Equal(pairs.Select(p => p.Name), actual.Keys);
        foreach (var p in pairs) Assert.Equal(p.Value.GetString(), actual[p.Name]);
    }
}
