using System.Text.Json;
using WeightSpace.Formats;
using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Tests.Cli;

/// <summary>The merge's outlier check: a super weight planted in a tiny model's down_proj, whose fine-tune change TIES at
/// density 0.1 trims away (and DARE drops at random).</summary>
public sealed class MergeOutlierCheckTests
{
    private const string Down = "model.layers.0.mlp.down_proj.weight";
    private const int Rows = 16, Columns = 64, SuperRow = 3, SuperColumn = 7;
    private const float Super = 2.0f;

    private static float[] Gaussian(int n, double sigma, int seed)
    {
        var random = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++)
            v[i] = (float)(sigma * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        return v;
    }

    // Base: N(0, 0.02²) weights with a super weight of 2.0 (≈ 100 × RMS) at [3, 7]. Each fine-tune adds N(0, 0.05²)
    // noise and moves the super weight by superShift: |−0.05| is below the 90th percentile of |τ| (≈ 0.082), so a
    // density-0.1 trim drops it, and the untrimmed TIES value there is 2.0 − 0.05 = 1.95 (the weighted mean of the two
    // agreeing −0.05 entries).
    private static (string Base, string A, string B) Models(string dir, float superShift = -0.05f, bool superInBase = true,
        float? superShiftB = null, double sigmaB = 0.05)
    {
        int n = Rows * Columns, at = SuperRow * Columns + SuperColumn;
        var theta0 = Gaussian(n, 0.02, 1);
        if (superInBase) theta0[at] = Super;
        string Write(string name, float[] down)
        {
            string path = Path.Combine(dir, name + ".safetensors");
            SafetensorsWriter.Copy(new InMemoryTensorStore().Add(Down, down, Rows, Columns).Add("model.layers.0.self_attn.q_proj.weight", Gaussian(64, 0.02, name.Length), 8, 8), path);
            return path;
        }
        float[] FineTune(int seed, double sigma, float shift)
        {
            var tau = Gaussian(n, sigma, seed);
            var w = new float[n];
            for (int i = 0; i < n; i++) w[i] = theta0[i] + tau[i];
            w[at] = (superInBase ? Super : 0) + shift;
            return w;
        }
        return (Write("base", theta0), Write("a", FineTune(2, 0.05, superShift)), Write("b", FineTune(3, sigmaB, superShiftB ?? superShift)));
    }

    private static string[] Merge(string method, (string Base, string A, string B) m, string output, double density, params string[] extra) =>
        ["merge", "--method", method, "--base", m.Base, "--models", m.A, m.B, "--density", density.ToString(System.Globalization.CultureInfo.InvariantCulture),
         "--seed", "7", "-o", output, .. extra];

    private static float[] Read(string dir)
    {
        using var store = Checkpoint.Open(Path.Combine(dir, "model.safetensors"));
        return store.ReadSingle(Down);
    }

    private static float At(float[] w) => w[SuperRow * Columns + SuperColumn];

    [Fact]
    public void Merge_TiesTrimsPlantedSuperWeightChange_WarnsNamingIt()
    {
        string dir = SharedData.TempFolder();
        var m = Models(dir);
        var r = CliRunner.Run(Merge("ties", m, Path.Combine(dir, "out"), 0.1));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var line = Assert.Single(r.Stderr.Split('\n'), l => l.StartsWith("warning: ties: the trim changed outlier", StringComparison.Ordinal));
        Assert.Contains($"{Down}[{SuperRow}, {SuperColumn}]", line);
        Assert.Contains("left the base's 2", line);
        Assert.Contains("untrimmed merge gives 1.95", line);
        Assert.Equal(Super, At(Read(Path.Combine(dir, "out"))));   // unprotected: the trim's value is written
    }

    [Fact]
    public void Merge_ProtectOutliers_WritesTheUntrimmedValueThereOnly()
    {
        string dir = SharedData.TempFolder();
        var m = Models(dir);
        Assert.Equal(0, CliRunner.Run(Merge("ties", m, Path.Combine(dir, "plain"), 0.1)).ExitCode);
        var r = CliRunner.Run(Merge("ties", m, Path.Combine(dir, "protected"), 0.1, "--protect-outliers", "--json"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        // Independent truth: the same merge without a trim (density 1) at that coordinate.
        Assert.Equal(0, CliRunner.Run(Merge("ties", m, Path.Combine(dir, "untrimmed"), 1.0)).ExitCode);
        float[] plain = Read(Path.Combine(dir, "plain")), kept = Read(Path.Combine(dir, "protected")), untrimmed = Read(Path.Combine(dir, "untrimmed"));
        Assert.Equal(At(untrimmed), At(kept));
        Assert.Equal(1.95f, At(kept), 1e-6f);
        int at = SuperRow * Columns + SuperColumn;
        for (int i = 0; i < plain.Length; i++) if (i != at) Assert.Equal(plain[i], kept[i]);

        using var doc = JsonDocument.Parse(r.Stdout);
        var warning = Assert.Single(doc.RootElement.GetProperty("outlier_warnings").EnumerateArray());
        Assert.Equal(Down, warning.GetProperty("tensor").GetString());
        Assert.Equal(SuperRow, warning.GetProperty("row").GetInt64());
        Assert.Equal(SuperColumn, warning.GetProperty("column").GetInt64());
        Assert.Equal(Super, warning.GetProperty("merged_value").GetSingle());
        Assert.EndsWith("base.safetensors", warning.GetProperty("model").GetString());   // where it stands out most (30 × RMS vs 24 in the fine-tunes)
        Assert.Equal(At(untrimmed), warning.GetProperty("written_value").GetSingle());
        Assert.True(warning.GetProperty("protected").GetBoolean());
    }

    [Fact]
    public void Merge_SuperWeightChangeLargeEnoughToKeep_NoWarning()
    {
        // A change of −0.5 is the largest |τ| of the matrix: the magnitude trim keeps it, so TIES matches the untrimmed value.
        string dir = SharedData.TempFolder();
        var r = CliRunner.Run(Merge("ties", Models(dir, superShift: -0.5f), Path.Combine(dir, "out"), 0.1));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.DoesNotContain("outlier", r.Stderr);
    }

    [Fact]
    public void Merge_DareDropsFineTuneSuperWeight_Warns_AndNoOutlierCheckSilencesIt()
    {
        // The super weight exists only in the fine-tunes (the base has ≈ 0 there): DARE at density 0.1 either drops it
        // (the base's value) or rescales it; either way it is not the untrimmed 2.0.
        string dir = SharedData.TempFolder();
        var m = Models(dir, superShift: Super, superInBase: false);
        var r = CliRunner.Run(Merge("dare_linear", m, Path.Combine(dir, "out"), 0.1));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains($"warning: dare_linear: the trim changed outlier {Down}[{SuperRow}, {SuperColumn}]", r.Stderr);
        var quiet = CliRunner.Run(Merge("dare_linear", m, Path.Combine(dir, "unchecked"), 0.1, "--no-outlier-check"));
        Assert.True(quiet.ExitCode == 0, quiet.Stderr);
        Assert.DoesNotContain("outlier", quiet.Stderr);
        Assert.Equal(Read(Path.Combine(dir, "out")), Read(Path.Combine(dir, "unchecked")));
    }

    private static string[] Sce((string Base, string A, string B) m, string output, double selectTopK, params string[] extra) =>
        ["merge", "--method", "sce", "--base", m.Base, "--models", m.A, m.B,
         "--set", "select_topk=" + selectTopK.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", output, .. extra];

    [Fact]
    public void Merge_SceSelectionDropsPlantedSuperWeightChange_WarnsAndProtectWritesTheWholeTensorUntrimmedValue()
    {
        // The fine-tunes move the super weight by −0.02 and −0.08 (noise σ 0.05 and 0.10): a variance across the models far
        // below the noise entries', so SCE's top-10 % variance selection drops it and the merge keeps the base's 2. SCE's
        // weights ηᵢ = mean(τᵢ²)/Σⱼ mean(τⱼ²) are whole-tensor means, so the untrimmed reference is the whole tensor merged
        // with select_topk 1 (≈ 1.93), not the method on the one element (≈ 1.92: η from that element's τ² alone).
        string dir = SharedData.TempFolder();
        var m = Models(dir, superShift: -0.02f, superShiftB: -0.08f, sigmaB: 0.10);
        var r = CliRunner.Run(Sce(m, Path.Combine(dir, "plain"), 0.1));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var line = Assert.Single(r.Stderr.Split('\n'), l => l.StartsWith("warning: sce: the trim changed outlier", StringComparison.Ordinal));
        Assert.Contains($"{Down}[{SuperRow}, {SuperColumn}]", line);
        Assert.Contains("left the base's 2", line);

        var kept = CliRunner.Run(Sce(m, Path.Combine(dir, "protected"), 0.1, "--protect-outliers"));
        Assert.True(kept.ExitCode == 0, kept.Stderr);
        var full = CliRunner.Run(Sce(m, Path.Combine(dir, "untrimmed"), 1.0));
        Assert.True(full.ExitCode == 0, full.Stderr);
        Assert.DoesNotContain("outlier", full.Stderr);   // select_topk 1 does not trim: nothing is watched
        float[] plain = Read(Path.Combine(dir, "plain")), protectedValues = Read(Path.Combine(dir, "protected")), untrimmed = Read(Path.Combine(dir, "untrimmed"));
        Assert.Equal(Super, At(plain));
        Assert.Equal(At(untrimmed), At(protectedValues));
        int at = SuperRow * Columns + SuperColumn;
        for (int i = 0; i < plain.Length; i++) if (i != at) Assert.Equal(plain[i], protectedValues[i]);

        // Independent truth, the paper's formula over the whole tensor: θ₀ + Σᵢ ηᵢτᵢ / Σᵢ ηᵢ at [3, 7] (both τ negative, so
        // the sign election keeps both).
        float[] theta0 = ReadFile(m.Base), a = ReadFile(m.A), b = ReadFile(m.B);
        double etaA = Enumerable.Range(0, a.Length).Average(i => Math.Pow(a[i] - theta0[i], 2));
        double etaB = Enumerable.Range(0, b.Length).Average(i => Math.Pow(b[i] - theta0[i], 2));
        double expected = theta0[at] + (etaA * (a[at] - theta0[at]) + etaB * (b[at] - theta0[at])) / (etaA + etaB);
        Assert.Equal(expected, At(protectedValues), 1e-5);
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"untrimmed merge gives {At(untrimmed):G3}"), line);
    }

    private static float[] ReadFile(string path)
    {
        using var store = Checkpoint.Open(path);
        return store.ReadSingle(Down);
    }

    [Fact]
    public void Merge_NoOutlierCheckWithProtect_IsUsageError()
    {
        string dir = SharedData.TempFolder();
        var r = CliRunner.Run(Merge("ties", Models(dir), Path.Combine(dir, "out"), 0.1, "--no-outlier-check", "--protect-outliers"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--no-outlier-check and --protect-outliers", r.Stderr);
        Assert.False(Directory.Exists(Path.Combine(dir, "out")));
    }
}
