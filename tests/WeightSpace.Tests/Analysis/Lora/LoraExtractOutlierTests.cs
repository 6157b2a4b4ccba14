using WeightSpace.Analysis.Lora;
using WeightSpace.Tests.Cli;

namespace WeightSpace.Tests.Analysis.Lora;

/// <summary><c>lora extract</c> warns when its rank truncation misses an outlier weight (issue 13: "merge/lora warn when a
/// trim would zero a detected super weight").</summary>
public sealed class LoraExtractOutlierTests
{
    private const int Rows = 16, Cols = 64;

    // A down_proj of N(0, 0.02²)-sized noise with a super weight 2.0 at [3, 7]; the fine-tune adds a rank-2 change of
    // entries ~0.2 and moves the super weight by −0.3 (a one-coordinate change, rank 1 with σ = 0.3, far below the
    // rank-2 part's σ ≈ 4: a rank-2 extraction keeps the broad change and loses the super weight's).
    private static (InMemoryTensorStore Base, InMemoryTensorStore FineTuned) Models()
    {
        var random = new Random(5);
        double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var w = new float[Rows * Cols];
        for (int i = 0; i < w.Length; i++) w[i] = (float)(0.02 * Gaussian());
        w[3 * Cols + 7] = 2.0f;
        var b = Enumerable.Range(0, Rows * 2).Select(_ => random.NextDouble() - 0.5).ToArray();
        var a = Enumerable.Range(0, 2 * Cols).Select(_ => random.NextDouble() - 0.5).ToArray();
        var ft = new float[w.Length];
        for (int i = 0; i < Rows; i++)
            for (int j = 0; j < Cols; j++)
                ft[i * Cols + j] = (float)(w[i * Cols + j] + b[i * 2] * a[j] + b[i * 2 + 1] * a[Cols + j]);
        ft[3 * Cols + 7] -= 0.3f;
        return (new InMemoryTensorStore().Add("model.layers.0.mlp.down_proj.weight", w, Rows, Cols),
                new InMemoryTensorStore().Add("model.layers.0.mlp.down_proj.weight", ft, Rows, Cols));
    }

    [Fact]
    public void RankTruncationThatMissesTheSuperWeight_IsReported_FullRankIsNot()
    {
        var (w0, w1) = Models();
        var low = LoraExtraction.Write(w0, w1, Path.Combine(SharedData.TempFolder(), "r2"), new LoraExtractOptions { Rank = 2, AllowRandomized = false },
            ct: TestContext.Current.CancellationToken);
        var change = Assert.Single(Assert.Single(low.Modules).OutlierChanges);
        Assert.Equal(("model.layers.0.mlp.down_proj", 3L, 7L), (change.Module, change.Row, change.Column));
        Assert.Equal(2.0, change.BaseValue, 6);
        Assert.Equal(w1.ReadSingle("model.layers.0.mlp.down_proj.weight")[3 * Cols + 7], change.FineTunedValue, 6);
        // The factors miss most of the −0.3: base + B·A stays well away from the fine-tuned value.
        Assert.True(Math.Abs(change.ExtractedValue - change.FineTunedValue) > 0.1, $"extracted {change.ExtractedValue}, fine-tuned {change.FineTunedValue}");
        Assert.True(change.RatioToRms > 10);

        // Full rank (min(16, 64)) reproduces every weight: nothing to report. The check can be turned off.
        var full = LoraExtraction.Write(w0, w1, Path.Combine(SharedData.TempFolder(), "r16"), new LoraExtractOptions { Rank = Rows, AllowRandomized = false },
            ct: TestContext.Current.CancellationToken);
        Assert.Empty(Assert.Single(full.Modules).OutlierChanges);
        var off = LoraExtraction.Write(w0, w1, Path.Combine(SharedData.TempFolder(), "off"), new LoraExtractOptions { Rank = 2, AllowRandomized = false, CheckOutliers = false },
            ct: TestContext.Current.CancellationToken);
        Assert.Empty(Assert.Single(off.Modules).OutlierChanges);
    }

    [Fact]
    public void Cli_PrintsOneWarningNamingTheCoordinate_AndJsonListsIt()
    {
        var (w0, w1) = Models();
        string dir = SharedData.TempFolder();
        string basePath = Path.Combine(dir, "base.safetensors"), ftPath = Path.Combine(dir, "ft.safetensors");
        WeightSpace.Formats.Safetensors.SafetensorsWriter.Copy(w0, basePath);
        WeightSpace.Formats.Safetensors.SafetensorsWriter.Copy(w1, ftPath);
        var r = CliRunner.Run("lora", "extract", basePath, ftPath, "--rank", "2", "--exact", "--json", "-o", Path.Combine(dir, "adapter"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("warning: lora extract: the rank truncation changes outlier model.layers.0.mlp.down_proj.weight[3, 7]", r.Stderr);
        var warnings = System.Text.Json.JsonDocument.Parse(r.Stdout).RootElement.GetProperty("outlier_warnings");
        Assert.Equal(7, Assert.Single(warnings.EnumerateArray()).GetProperty("column").GetInt32());
        var quiet = CliRunner.Run("lora", "extract", basePath, ftPath, "--rank", "2", "--exact", "--no-outlier-check", "-o", Path.Combine(dir, "adapter2"));
        Assert.True(quiet.ExitCode == 0, quiet.Stderr);
        Assert.DoesNotContain("warning:", quiet.Stderr);
    }
}
