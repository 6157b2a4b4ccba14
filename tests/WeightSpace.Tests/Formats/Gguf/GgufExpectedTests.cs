using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using WeightSpace.Formats;
using WeightSpace.Formats.Gguf;

namespace WeightSpace.Tests.Formats.Gguf;

/// <summary>The reader and every dequantiser against the shared GGUF files, written by llama.cpp's own tools, and their
/// expected.json, computed by llama.cpp's gguf-py (not by us): metadata, names, shapes, offsets, and the sha256 of the
/// dequantised float32 bytes, which must be equal bit for bit for every type.</summary>
public sealed class GgufExpectedTests
{
    public static TheoryData<string> Files => new()
    {
        "synthetic/plain-types", "synthetic/align64", "synthetic/quant-gguf-py",
        "tinyllama/tinyllama-f32", "tinyllama/tinyllama-q8_0", "tinyllama/tinyllama-q4_0", "tinyllama/tinyllama-q4_k_m",
        "tinyllama/tinyllama-q5_k_m", "tinyllama/tinyllama-q6_k", "tinyllama/tinyllama-q2_k", "tinyllama/tinyllama-iq4_nl",
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void Open_SharedFile_ReproducesExpectedJson(string stem)
    {
        string path = SharedData.Require($"gguf/{stem}.gguf");
        using var expected = SharedData.Json($"gguf/{stem}.expected.json");
        var root = expected.RootElement;

        using var store = GgufReader.Open(path, new GgufOptions { Naming = GgufNaming.Gguf });
        var header = root.GetProperty("header");
        Assert.Equal(header.GetProperty("GGUF.version").GetUInt32(), store.Version);
        Assert.Equal(header.GetProperty("GGUF.kv_count").GetInt32(), store.KeyValues.Count);
        Assert.Equal(header.GetProperty("GGUF.tensor_count").GetInt32(), store.Tensors.Count);
        Assert.Equal(root.GetProperty("data_start").GetInt64(), store.DataStart);

        var metadata = root.GetProperty("metadata");
        Assert.Equal(metadata.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal),
            store.KeyValues.Select(kv => kv.Key).Order(StringComparer.Ordinal));
        foreach (var (key, value) in store.KeyValues) AssertValue(key, metadata.GetProperty(key), value);

        var tensors = root.GetProperty("tensors");
        Assert.Equal(tensors.EnumerateObject().Select(p => p.Name), store.StoredTensors.Select(t => t.Name));
        foreach (var entry in store.StoredTensors)
        {
            var e = tensors.GetProperty(entry.Name);
            Assert.Equal(e.GetProperty("ggml_type").GetString(), entry.TypeName);
            Assert.Equal(e.GetProperty("ne").EnumerateArray().Select(x => x.GetInt64()), entry.Ne);
            var info = store.GetInfo(entry.Name);
            Assert.Equal(e.GetProperty("shape_row_major").EnumerateArray().Select(x => x.GetInt64()), info.Shape);
            Assert.Equal(e.GetProperty("offset_abs").GetInt64(), store.DataStart + entry.Offset);
            Assert.Equal(e.GetProperty("n_bytes").GetInt64(), info.ByteCount);

            float[] values = store.ReadSingle(entry.Name);
            string sha = Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(values.AsSpan())));
            Assert.True(e.GetProperty("sha256_f32le").GetString() == sha,
                $"{stem}: tensor '{entry.Name}' ({entry.TypeName}) dequantises to different float32 bytes than gguf-py's; first values {string.Join(", ", values.Take(4))}");
            Assert.Equal(e.GetProperty("min").GetDouble(), values.Min());
            Assert.Equal(e.GetProperty("max").GetDouble(), values.Max());
        }
    }

    [Fact]
    public void ReadDouble_QuantisedTensor_WidensTheFloat32Values()
    {
        string path = SharedData.Require("gguf/tinyllama/tinyllama-q4_k_m.gguf");
        using var store = GgufReader.Open(path, new GgufOptions { Naming = GgufNaming.Gguf });
        float[] single = store.ReadSingle("blk.0.ffn_down.weight");
        double[] wide = store.ReadDouble("blk.0.ffn_down.weight");
        Assert.Equal(single.Select(x => (double)x), wide);
    }

    [Fact]
    public void CopyTo_RangesInsideBlocks_MatchTheWholeTensor()
    {
        // Statistics split tensors over threads at arbitrary element offsets: a range that starts and ends inside a
        // block must give the same values as the whole-tensor decode.
        string path = SharedData.Require("gguf/tinyllama/tinyllama-q2_k.gguf");
        using var store = GgufReader.Open(path, new GgufOptions { Naming = GgufNaming.Gguf });
        foreach (var name in new[] { "blk.0.attn_q.weight", "blk.1.ffn_down.weight" })
        {
            float[] all = store.ReadSingle(name);
            using var buffer = store.Read(name);
            foreach (var (start, count) in new[] { (0, 1), (3, 250), (255, 2), (100, 1000), (all.Length - 7, 7) })
            {
                var part = new float[count];
                buffer.CopyTo(start, part);
                Assert.Equal(all.AsSpan(start, count).ToArray(), part);
            }
        }
    }

    [Fact]
    public void CheckpointOpen_Gguf_IsIdentifiedByContentAndRead()
    {
        string path = SharedData.Require("gguf/tinyllama/tinyllama-q4_0.gguf");
        Assert.Equal(CheckpointFormat.Gguf, Checkpoint.Identify(path).Format);
        using var store = Checkpoint.Open(path);
        Assert.Equal(CheckpointFormat.Gguf, store.Format);
        Assert.Contains(store.Tensors, t => t.Name == "model.layers.0.self_attn.q_proj.weight" && t.DType == DType.Q4_0);
    }

    private static void AssertValue(string key, JsonElement expected, GgufValue actual)
    {
        Assert.True(expected.GetProperty("type").GetString() == GgufValue.TypeName(actual.Type), $"key '{key}': type");
        if (actual.Type != GgufValueType.Array)
        {
            AssertScalar(key, expected.GetProperty("value"), actual.Value);
            return;
        }
        Assert.Equal(expected.GetProperty("subtype").GetString(), GgufValue.TypeName(actual.ElementType!.Value));
        Assert.Equal(expected.GetProperty("length").GetInt32(), actual.Count);
        var array = (Array)actual.Value;
        int i = 0;
        foreach (var item in expected.GetProperty("first5").EnumerateArray()) AssertScalar($"{key}[{i}]", item, array.GetValue(i++)!);
    }

    private static void AssertScalar(string key, JsonElement expected, object actual)
    {
        switch (actual)
        {
            case string s: Assert.Equal(expected.GetString(), s); break;
            case bool b: Assert.Equal(expected.GetBoolean(), b); break;
            case float f: Assert.Equal(expected.GetDouble(), (double)f); break;
            case double d: Assert.Equal(expected.GetDouble(), d); break;
            case ulong ul: Assert.Equal(expected.GetUInt64(), ul); break;
            default: Assert.True(expected.GetInt64() == Convert.ToInt64(actual, System.Globalization.CultureInfo.InvariantCulture), $"key '{key}'"); break;
        }
    }
}
