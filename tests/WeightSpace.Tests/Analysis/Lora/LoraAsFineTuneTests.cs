using WeightSpace.Analysis.Lora;
using WeightSpace.Formats.Safetensors;
using WeightSpace.Tests.Cli;
using static WeightSpace.Tests.Analysis.Lora.LoraFixtures;

namespace WeightSpace.Tests.Analysis.Lora;

/// <summary>An adapter analysed as a fine-tune of its base (issue #15): <c>diff BASE ADAPTER</c> is the diff against
/// the merged model, and the intruder-dimension measure finds a planted intruder.</summary>
public sealed class LoraAsFineTuneTests
{
    private const int N = 16;

    // W = diag(16, 15, …, 1): its singular vectors are the standard basis, the top 10 being e₀…e₉.
    private static string Base(string folder)
    {
        var w = new float[N * N];
        for (int i = 0; i < N; i++) w[i * N + i] = N - i;
        var store = new InMemoryTensorStore().Add("q_proj.weight", w, N, N).Add("v_proj.weight", w, N, N);
        string path = Path.Combine(folder, "base.safetensors");
        SafetensorsWriter.Copy(store, path);
        store.Dispose();
        return path;
    }

    // Rank-1 adapter on q_proj: ΔW = s·b·aᵀ with s = α/r = 30 and unit b = a = u.
    private static string Adapter(float[] u) =>
        Write(Config(1, 30, "", "[\"q_proj\"]"), new InMemoryTensorStore().Add(Prefix + "q_proj.lora_A.weight", u, 1, N).Add(Prefix + "q_proj.lora_B.weight", u, N, 1));

    private static float[] Unit(params int[] indices)
    {
        var u = new float[N];
        foreach (int i in indices) u[i] = (float)(1 / Math.Sqrt(indices.Length));
        return u;
    }

    [Fact]
    public void Intruders_PlantedDirectionOrthogonalToTheBasesTopVectors_IsFound()
    {
        string basePath = Base(SharedData.TempFolder());
        // Shuttleworth et al.'s Algorithm 1 compares each of the top k fine-tuned singular vectors with all n base ones.
        // u = (e₆ + … + e₁₅)/√10 has |cos| 1/√10 ≈ 0.32 with each base vector; the top singular vector of
        // W + 30·uuᵀ (σ ≈ 35) is u tilted towards the larger diagonal entries, |cos| ≈ 0.38 < 0.5 with every e_i.
        var (modules, layers) = LoraAnalysis.Analyze(basePath, Adapter(Unit(6, 7, 8, 9, 10, 11, 12, 13, 14, 15)), ct: TestContext.Current.CancellationToken);
        var m = Assert.Single(modules);
        var intruder = Assert.Single(m.Intruders);
        Assert.Equal(0, intruder.Index);
        Assert.True(intruder.SingularValue > 30, $"σ = {intruder.SingularValue}");
        Assert.InRange(intruder.MaxCosine, 0.32, 0.45);
        Assert.Equal(30, m.DeltaNorm, 4);
        Assert.Empty(layers);
    }

    [Fact]
    public void Intruders_DirectionInsideTheBasesTopSubspace_IsNone()
    {
        string basePath = Base(SharedData.TempFolder());
        // u = e₂: W + ΔW stays diagonal, its top singular vectors are base vectors (cos 1).
        var (modules, _) = LoraAnalysis.Analyze(basePath, Adapter(Unit(2)), ct: TestContext.Current.CancellationToken);
        Assert.Empty(Assert.Single(modules).Intruders);
    }

    [Fact]
    public void Diff_BaseAndAdapter_IsTheDiffAgainstTheMergedModel()
    {
        string dir = SharedData.TempFolder();
        string basePath = Base(dir);
        string adapter = Adapter(Unit(3, 9));
        string merged = Path.Combine(dir, "merged");
        LoraApplication.Write(basePath, [adapter], [1.0], merged, ct: TestContext.Current.CancellationToken);

        var viaAdapter = CliRunner.Run("diff", basePath, adapter, "--json");
        Assert.True(viaAdapter.ExitCode == 0, viaAdapter.Stderr);
        var viaMerged = CliRunner.Run("diff", basePath, merged, "--json");
        Assert.True(viaMerged.ExitCode == 0, viaMerged.Stderr);
        Assert.Equal(viaMerged.Stdout.Replace(System.Text.Json.JsonEncodedText.Encode(merged).ToString(), "MODEL", StringComparison.Ordinal),
            viaAdapter.Stdout.Replace(System.Text.Json.JsonEncodedText.Encode(adapter).ToString(), "MODEL", StringComparison.Ordinal));
        // ‖ΔW‖ = 30 on q_proj, v_proj unchanged.
        using var json = System.Text.Json.JsonDocument.Parse(viaAdapter.Stdout);
        var tensors = json.RootElement.GetProperty("tensors").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!, t => t.GetProperty("models")[0].GetProperty("norm").GetDouble());
        Assert.Equal(30, tensors["q_proj.weight"], 4);
        Assert.Equal(0, tensors["v_proj.weight"]);

        using var baseStore = WeightSpace.Formats.Checkpoint.Open(basePath);
        using var adapted = AdaptedTensorStore.Open(baseStore, adapter);
        Assert.Equal(1, adapted.ChangedTensorCount);
        var w = adapted.ReadSingle("q_proj.weight");
        Assert.Equal(N - 3 + 15f, w[3 * N + 3], 5);   // 13 + 30·½
        Assert.Equal(15f, w[3 * N + 9], 5);
    }

    [Fact]
    public void Spectrum_AdapterAgainstItsBase_FindsThePlantedIntruder_AndBaseWithAdapterIsTheMergedModel()
    {
        string dir = SharedData.TempFolder();
        string basePath = Base(dir);
        string adapter = Adapter(Unit(6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
        var compared = CliRunner.Run("spectrum", adapter, "--against", basePath, "--json");
        Assert.True(compared.ExitCode == 0, compared.Stderr);
        using (var doc = System.Text.Json.JsonDocument.Parse(compared.Stdout))
            Assert.Equal(1, doc.RootElement.GetProperty("total_intruders").GetInt32());

        string merged = Path.Combine(dir, "merged");
        LoraApplication.Write(basePath, [adapter], [1.0], merged, ct: TestContext.Current.CancellationToken);
        var viaAdapter = CliRunner.Run("spectrum", basePath, "--adapter", adapter, "--json");
        Assert.True(viaAdapter.ExitCode == 0, viaAdapter.Stderr);
        var viaMerged = CliRunner.Run("spectrum", merged, "--json");
        Assert.Equal(viaMerged.Stdout.Replace(System.Text.Json.JsonEncodedText.Encode(merged).ToString(), "MODEL", StringComparison.Ordinal),
            viaAdapter.Stdout.Replace(System.Text.Json.JsonEncodedText.Encode(adapter).ToString(), "MODEL", StringComparison.Ordinal));

        var alone = CliRunner.Run("spectrum", adapter);
        Assert.Equal(2, alone.ExitCode);
        Assert.Contains("is a PEFT adapter", alone.Stderr);
    }

    [Fact]
    public void Diff_AdapterThatDoesNotFitTheBase_OneLineError()
    {
        string dir = SharedData.TempFolder();
        string basePath = Base(dir);
        var bad = Write(Config(1, 1, "", "[\"k_proj\"]"), new InMemoryTensorStore().Add(Prefix + "k_proj.lora_A.weight", new float[N], 1, N).Add(Prefix + "k_proj.lora_B.weight", new float[N], N, 1));
        var r = CliRunner.Run("diff", basePath, bad);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("module 'k_proj'", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }
}
