using System.Text.Json;
using WeightSpace.Analysis.Language;
using WeightSpace.Formats;
using WeightSpace.Formats.Gguf;

namespace WeightSpace.Tests.Formats.Gguf;

/// <summary>The GGUF files we write, run by llama.cpp (LLamaSharp): its next-token logits on the shared README's fixed
/// input (base.onnx.expected.json, "int main(void) {" and "The quick brown ") against our own forward pass of the
/// same weights and against PyTorch's reference logits.</summary>
public sealed class GgufLlamaSharpTests(ITestOutputHelper output)
{
    private static (int[][] Ids, double[][][] First8, double[][] LogSumExp) Reference()
    {
        using var doc = SharedData.Json("llm/base.onnx.expected.json");
        var r = doc.RootElement.GetProperty("logits_reference");
        int[][] ids = [.. r.GetProperty("input_ids").EnumerateArray().Select(row => row.EnumerateArray().Select(e => e.GetInt32()).ToArray())];
        double[][][] first8 = [.. r.GetProperty("first8_per_position").EnumerateArray().Select(row => row.EnumerateArray().Select(p => p.EnumerateArray().Select(e => e.GetDouble()).ToArray()).ToArray())];
        double[][] lse = [.. r.GetProperty("logsumexp_per_position").EnumerateArray().Select(row => row.EnumerateArray().Select(e => e.GetDouble()).ToArray())];
        return (ids, first8, lse);
    }

    private static float[] OurLogits(TensorStore weights, LlamaConfig config, int[] ids)
    {
        using var model = new CausalLanguageModel(new DequantizedTensorStore(weights), config, new LanguageModelOptions { TorchThreads = 1 });
        return model.Logits(ids, 1);
    }

    private static double MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        double max = 0;
        for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs((double)a[i] - b[i]));
        return max;
    }

    /// <summary>F32 (K/V cache in F32): logits of magnitude 5–16 agree to a measured 2.4e-3 absolute (1.6e-4 relative;
    /// llama.cpp's CPU kernels sum in other orders, build rotary angles by repeated multiplication and use their own
    /// exp/softmax); 1e-2 bounds it while a wrong permutation, norm, rope or head split (errors of order 1) cannot pass. Q8_0: llama.cpp also
    /// quantises the activations to Q8_0 for each matmul (ggml's vec_dot_q8_0_q8_0), an extra relative error of about
    /// 1/254 per dot product that our float32-activation forward does not make; measured below 0.1, bound 0.25,
    /// still an order below the effect of any layout error.</summary>
    [Theory]
    [InlineData("f32", 1e-2)]
    [InlineData("q8_0", 0.25)]
    public void OurGguf_FromBaseF32_RunsInLlamaCpp_WithOurLogits(string typeName, double tolerance)
    {
        LlamaCpp.RequireBackend();
        var type = typeName == "f32" ? DType.F32 : DType.Q8_0;
        string folder = SharedData.Require("llm/base-f32");
        string gguf = Path.Combine(SharedData.TempFolder(), $"base-{typeName}.gguf");
        GgufHfImport.Write(folder, gguf, type);
        var config = LlamaConfig.Load(folder);
        var (ids, first8, lse) = Reference();
        using var ourWeights = GgufReader.Open(gguf);   // HF view of what we wrote: the weights llama.cpp runs, dequantised
        for (int row = 0; row < ids.Length; row++)
        {
            float[] llama = LlamaCpp.Logits(gguf, ids[row]);
            float[] ours = OurLogits(ourWeights, config, ids[row]);
            double diff = MaxAbsDiff(llama, ours);
            output.WriteLine($"{typeName} row {row}: max |llama.cpp − ours| = {diff:E3} over {llama.Length} logits");
            Assert.True(diff <= tolerance, $"{typeName} row {row}: llama.cpp and our forward differ by {diff} (> {tolerance})");
            if (type != DType.F32) continue;
            // Independent truth: PyTorch's float32 forward of the same HF checkpoint.
            double torch = 0;
            for (int p = 0; p < ids[row].Length; p++)
            {
                for (int v = 0; v < 8; v++) torch = Math.Max(torch, Math.Abs(llama[p * 256 + v] - first8[row][p][v]));
                double m = llama.AsSpan(p * 256, 256).ToArray().Max(), s = llama.AsSpan(p * 256, 256).ToArray().Sum(x => Math.Exp(x - m));
                torch = Math.Max(torch, Math.Abs(m + Math.Log(s) - lse[row][p]));
            }
            output.WriteLine($"f32 row {row}: max |llama.cpp − PyTorch| (first 8 logits and logsumexp per position) = {torch:E3}");
            Assert.True(torch <= tolerance, $"row {row}: llama.cpp differs from PyTorch's reference by {torch}");
        }
    }

    [Fact]
    public void SharedF32File_IsRefusedByLlamaCpp_ForItsMissingMerges_AndOurRewriteRuns()
    {
        LlamaCpp.RequireBackend();
        string shared = SharedData.Require("gguf/tinyllama/tinyllama-f32.gguf");
        // gen.py wrote it with gguf-py's GGUFWriter by hand and no tokenizer.ggml.merges; llama.cpp needs the key for gpt2.
        var e = Assert.Throws<InvalidOperationException>(() => LlamaCpp.Logits(shared, [1, 2, 3]));
        Assert.Contains("cannot find tokenizer merges", e.Message, StringComparison.Ordinal);

        // The same tensors (byte for byte, GgufHfImportTests) with our metadata: llama.cpp runs it, and its logits are
        // those of our forward pass over the shared file read directly.
        string folder = Path.Combine(SharedData.TempFolder(), "hf");
        using var store = GgufReader.Open(shared);
        GgufHfExport.Write(store, folder);
        string rewritten = Path.Combine(SharedData.TempFolder(), "rewritten.gguf");
        GgufHfImport.Write(folder, rewritten, DType.F32);
        int[] ids = Reference().Ids[1];
        double diff = MaxAbsDiff(LlamaCpp.Logits(rewritten, ids), OurLogits(store, LlamaConfig.Load(folder), ids));
        output.WriteLine($"shared f32 tensors: max |llama.cpp − ours| = {diff:E3}");
        Assert.True(diff <= 1e-2, $"llama.cpp and our forward differ by {diff}");
    }
}
