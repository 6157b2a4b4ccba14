using System.Text.Json;
using WeightSpace.Formats;
using WeightSpace.Formats.Gguf;
using WeightSpace.Formats.Safetensors;
using WeightSpace.Tests.Cli;

namespace WeightSpace.Tests.Formats.Gguf;

/// <summary>The Hugging Face view of the shared tiny-llama GGUF files. The GGUF weights are seeded random (see the
/// shared gguf/README), not base-f32's, so values are checked against the converter's own rule: applying
/// convert_hf_to_gguf's forward permute to our un-permuted q/k must give back the file's rows exactly. Names and shapes
/// are checked against the real HF checkpoint llm/base-f32 of the same architecture.</summary>
public sealed class GgufHfViewTests
{
    private const int Heads = 8, KvHeads = 2;

    [Fact]
    public void HfNamesAndShapes_EqualTheRealHfCheckpoint()
    {
        using var gguf = GgufReader.Open(SharedData.Require("gguf/tinyllama/tinyllama-f32.gguf"));
        using var hf = SafetensorsReader.Open(SharedData.Require("llm/base-f32/model.safetensors"));
        Assert.True(gguf.UsesHuggingFaceNames);
        Assert.Equal(hf.Tensors.Select(t => (t.Name, t.Shape)).OrderBy(t => t.Name, StringComparer.Ordinal),
            gguf.Tensors.Select(t => (t.Name, t.Shape)).OrderBy(t => t.Name, StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("tinyllama-f32")]
    [InlineData("tinyllama-q4_k_m")]
    [InlineData("tinyllama-q8_0")]
    public void ForwardPermuteOfHfView_GivesBackTheFileRows(string stem)
    {
        string path = SharedData.Require($"gguf/tinyllama/{stem}.gguf");
        using var hf = GgufReader.Open(path);
        using var raw = GgufReader.Open(path, new GgufOptions { Naming = GgufNaming.Gguf });
        for (int layer = 0; layer < 4; layer++)
        {
            foreach (var (role, hfRole, heads) in new[] { ("attn_q", "self_attn.q_proj", Heads), ("attn_k", "self_attn.k_proj", KvHeads), ("attn_v", "self_attn.v_proj", 0), ("ffn_down", "mlp.down_proj", 0) })
            {
                float[] view = hf.ReadSingle($"model.layers.{layer}.{hfRole}.weight");
                float[] stored = raw.ReadSingle($"blk.{layer}.{role}.weight");
                var shape = hf.GetInfo($"model.layers.{layer}.{hfRole}.weight").Shape;
                float[] expected = heads == 0 ? view : ForwardPermute(view, (int)shape[0], (int)shape[1], heads);
                Assert.Equal(stored, expected);
                if (heads > 0) Assert.NotEqual(stored, view);   // the permutation is not the identity here
            }
        }
        Assert.Equal(raw.ReadSingle("token_embd.weight"), hf.ReadSingle("model.embed_tokens.weight"));
        Assert.Equal(raw.ReadSingle("output.weight"), hf.ReadSingle("lm_head.weight"));
        Assert.Equal(raw.ReadSingle("output_norm.weight"), hf.ReadSingle("model.norm.weight"));
    }

    [Fact]
    public void ConvertF32GgufToHfFolder_WeightsConfigAndTokenizer()
    {
        string gguf = SharedData.Require("gguf/tinyllama/tinyllama-f32.gguf");
        string output = Path.Combine(SharedData.TempFolder(), "hf");
        var r = CliRunner.Run("convert", gguf, output);
        Assert.Equal(0, r.ExitCode);

        using var view = GgufReader.Open(gguf);
        using var written = SafetensorsReader.Open(Path.Combine(output, "model.safetensors"));
        Assert.Equal(view.Tensors.Count, written.Tensors.Count);
        foreach (var t in view.Tensors)
        {
            Assert.Equal(DType.F32, written.GetInfo(t.Name).DType);
            Assert.Equal(t.Shape, written.GetInfo(t.Name).Shape);
            Assert.Equal(view.ReadSingle(t.Name), written.ReadSingle(t.Name));
        }

        // Every key we synthesise must agree with the real HF config of this architecture.
        using var ours = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "config.json")));
        using var real = SharedData.Json("llm/base-f32/config.json");
        foreach (var p in ours.RootElement.EnumerateObject())
        {
            if (p.Name is "torch_dtype") continue;
            var expected = real.RootElement.GetProperty(p.Name);
            if (p.Value.ValueKind == JsonValueKind.Number) Assert.Equal(expected.GetDouble(), p.Value.GetDouble());
            else Assert.Equal(expected.GetRawText(), p.Value.GetRawText());
        }

        using var tokenizer = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "tokenizer.json")));
        var vocab = tokenizer.RootElement.GetProperty("model").GetProperty("vocab");
        Assert.Equal(256, vocab.EnumerateObject().Count());
        Assert.Equal(0, vocab.GetProperty("Ā").GetInt32());          // byte 0 in GPT-2's byte-to-unicode table
        Assert.Equal((int)'!', vocab.GetProperty("!").GetInt32());  // printable bytes map to themselves
    }

    [Fact]
    public void ConvertQuantisedGguf_ToSafetensorsFile_DequantisesToF32()
    {
        string gguf = SharedData.Require("gguf/tinyllama/tinyllama-q4_k_m.gguf");
        string output = Path.Combine(SharedData.TempFolder(), "out.safetensors");
        var r = CliRunner.Run("convert", gguf, output, "--dtype", "bf16");
        Assert.Equal(0, r.ExitCode);
        using var view = GgufReader.Open(gguf);
        using var written = SafetensorsReader.Open(output);
        var expected = view.ReadSingle("model.layers.2.self_attn.q_proj.weight");
        var bf16 = new byte[expected.Length * 2];
        DTypeConversion.FromSingle(expected, DType.BF16, bf16);
        using var buffer = written.Read("model.layers.2.self_attn.q_proj.weight");
        Assert.Equal(DType.BF16, buffer.Info.DType);
        Assert.Equal(bf16, buffer.Bytes.ToArray());
    }

    [Fact]
    public void InspectMetadata_PrintsTypedKeys()
    {
        var r = CliRunner.Run("inspect", SharedData.Require("gguf/synthetic/plain-types.gguf"), "--metadata");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("test.u64", r.Stdout);
        Assert.Contains("9223372036854775813", r.Stdout);
        Assert.Contains("ARRAY[STRING]", r.Stdout);
        Assert.Contains("GGUF v3", r.Stdout);
    }

    [Fact]
    public void InspectNamesGguf_ShowsStoredNames_AndBadNamesIsUsage()
    {
        string path = SharedData.Require("gguf/tinyllama/tinyllama-q6_k.gguf");
        var r = CliRunner.Run("inspect", path, "--names", "gguf");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("blk.0.attn_q.weight", r.Stdout);
        Assert.Contains("6.5625", r.Stdout);
        Assert.Equal(2, CliRunner.Run("inspect", path, "--names", "xyz").ExitCode);
    }

    // convert_hf_to_gguf.py LlamaModel.permute: w.reshape(n_head, 2, rows / n_head / 2, cols).swapaxes(1, 2).reshape(rows, cols).
    private static float[] ForwardPermute(float[] w, int rows, int cols, int heads)
    {
        int half = rows / heads / 2;
        var result = new float[w.Length];
        for (int h = 0; h < heads; h++)
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < half; b++)
                {
                    int from = ((h * 2 + a) * half + b) * cols;   // index (h, a, b) of the reshaped input
                    int to = ((h * half + b) * 2 + a) * cols;     // index (h, b, a) after swapaxes(1, 2)
                    Array.Copy(w, from, result, to, cols);
                }
        return result;
    }
}
