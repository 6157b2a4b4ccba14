using WeightSpace.Analysis.Lora;
using WeightSpace.Formats;

namespace WeightSpace.Tests.Analysis.Lora;

/// <summary><c>lora apply</c> on the real PEFT adapter in shared/data/llm against the PyTorch-merged reference.</summary>
public sealed class LoraApplyRealTests
{
    private readonly ITestOutputHelper _output;

    public LoraApplyRealTests(ITestOutputHelper output) => _output = output;

    // The adapter was trained on the BF16 base widened to float32 (lora-python/expected.json: "on top of data/llm/base
    // (BF16 weights upcast to float32, frozen)"; lora-python-merged/expected.json: BF16(RNE(float32(W_base_bf16) + 2·B·A))),
    // so the reference is reproduced from base/, not base-f32/ (whose float32 weights differ by several BF16 ulps).
    [Fact]
    public void Apply_LoraPython_MatchesPyTorchMergeWithinOneBf16Ulp()
    {
        const string baseModel = "llm/base";
        DType? dtype = null;
        string basePath = SharedData.Require(baseModel);
        string adapter = SharedData.Require("llm/lora-python");
        string reference = SharedData.Require("llm/lora-python-merged");
        string output = Path.Combine(SharedData.TempFolder(), "merged");
        var result = LoraApplication.Write(basePath, [adapter], [1.0], output, new LoraApplyOptions { DType = dtype }, TestContext.Current.CancellationToken);
        Assert.Equal(28, result.ModulesMerged);

        using var merged = Checkpoint.Open(output);
        using var expected = Checkpoint.Open(reference);
        Assert.Equal(expected.Tensors.Select(t => t.Name).Order(), merged.Tensors.Select(t => t.Name).Order());
        long differing = 0, total = 0;
        foreach (var info in expected.Tensors)
        {
            Assert.Equal(DType.BF16, merged.GetInfo(info.Name).DType);
            using var a = merged.Read(info.Name);
            using var b = expected.Read(info.Name);
            var x = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(a.Bytes);
            var y = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(b.Bytes);
            for (int i = 0; i < x.Length; i++)
            {
                total++;
                if (x[i] == y[i]) continue;
                differing++;
                // Same sign, adjacent bit patterns: one BF16 ulp apart.
                Assert.True((x[i] & 0x8000) == (y[i] & 0x8000) && Math.Abs(x[i] - y[i]) == 1,
                    $"{info.Name}[{i}]: 0x{x[i]:X4} vs reference 0x{y[i]:X4}");
            }
        }
        using var sums = SharedData.Json("llm/lora-python-merged/expected.json");
        foreach (var t in sums.RootElement.GetProperty("tensors").EnumerateObject())
        {
            double expectedSum = t.Value.GetProperty("sum_fsum").GetDouble();
            var values = merged.ReadDouble(t.Name);
            double sum = ExactSum.FSum(values), bound = 4 * double.Epsilon + 1e-15 * values.Sum(Math.Abs);
            Assert.True(Math.Abs(sum - expectedSum) <= bound, $"{t.Name}: sum {sum:R} vs reference {expectedSum:R}");
        }
        _output.WriteLine($"{baseModel}: {differing} of {total} elements one BF16 ulp from the reference");
    }
}
