using System.Text.Json;
using WeightSpace.Tests.Analysis.Language;

namespace WeightSpace.Tests.Cli;

/// <summary><c>weightspace eval</c> on the tiny Llama family: scores against PyTorch's, the domain ordering of the
/// fine-tunes, and one-line errors with exit code 1 for bad input.</summary>
public sealed class EvalCommandTests
{
    [Fact]
    public void Eval_Json_ReportsPyTorchFirstWindows()
    {
        var expected = TinyLlama.FirstWindowSums("base-f32", "python");
        var r = CliRunner.Run("eval", TinyLlama.Folder("base-f32"), "--text", TinyLlama.Text("python"), "--max-windows", "4", "--threads", "2", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var text = doc.RootElement.GetProperty("texts")[0];
        Assert.Equal("torchsharp", doc.RootElement.GetProperty("backend").GetString());
        Assert.Equal(128, doc.RootElement.GetProperty("protocol").GetProperty("window").GetInt32());
        Assert.Equal(65536, text.GetProperty("tokens").GetInt32());
        Assert.Equal(4 * 127, text.GetProperty("predictions").GetInt32());
        double mean = expected.Sum() / (4 * 127);
        Assert.Equal(mean, text.GetProperty("nll_per_byte").GetDouble(), 1e-4);
        Assert.Equal(mean, text.GetProperty("nll_per_token").GetDouble(), 1e-4);
        Assert.Equal(mean / Math.Log(2), text.GetProperty("bits_per_byte").GetDouble(), 1e-4);
        Assert.Equal(Math.Exp(mean), text.GetProperty("perplexity").GetDouble(), 1e-3);
    }

    [Fact]
    public void Eval_FineTunes_EachScoresBestOnItsOwnDomain()
    {
        string[] models = ["base", "ft-prose", "ft-python", "ft-c"];
        var bitsPerByte = new Dictionary<string, double[]>();
        foreach (string model in models)
        {
            var r = CliRunner.Run(["eval", TinyLlama.Folder(model), "--text", .. TinyLlama.Texts.Select(TinyLlama.Text), "--max-windows", "32", "--threads", "2", "--json"]);
            Assert.True(r.ExitCode == 0, r.Stderr);
            using var doc = JsonDocument.Parse(r.Stdout);
            bitsPerByte[model] = [.. doc.RootElement.GetProperty("texts").EnumerateArray().Select(t => t.GetProperty("bits_per_byte").GetDouble())];
        }
        for (int d = 0; d < TinyLlama.Texts.Length; d++)
        {
            string best = models.MinBy(m => bitsPerByte[m][d])!;
            Assert.Equal("ft-" + TinyLlama.Texts[d], best);
        }
    }

    [Fact]
    public void Eval_EmptyText_FailsWithOneLine()
    {
        string empty = Path.Combine(SharedData.TempFolder(), "empty.txt");
        File.WriteAllBytes(empty, []);
        AssertOneLineError(CliRunner.Run("eval", TinyLlama.Folder("base"), "--text", empty), "empty.txt", "is empty");
    }

    [Fact]
    public void Eval_NotUtf8_FailsNamingTheOffset()
    {
        string bad = Path.Combine(SharedData.TempFolder(), "latin1.txt");
        File.WriteAllBytes(bad, [.. "caf"u8, 0xE9, .. " au lait"u8]);
        AssertOneLineError(CliRunner.Run("eval", TinyLlama.Folder("base"), "--text", bad), "latin1.txt", "not UTF-8 at byte 3");
    }

    [Fact]
    public void Eval_WindowLongerThanMaxPositions_FailsNamingTheKey()
    {
        AssertOneLineError(CliRunner.Run("eval", TinyLlama.Folder("base"), "--text", TinyLlama.Text("c"), "--window", "600"), "max_position_embeddings", "600");
    }

    [Fact]
    public void Eval_ConfigNotMatchingWeights_FailsNamingTensorAndShapes()
    {
        string folder = CopyOfBase(config => config.Replace("\"intermediate_size\": 768", "\"intermediate_size\": 1024"));
        AssertOneLineError(CliRunner.Run("eval", folder, "--text", TinyLlama.Text("c")), "model.layers.0.mlp.gate_proj.weight", "[768, 256]", "[1024, 256]");
    }

    [Fact]
    public void Eval_UnsupportedModelType_FailsNamingIt()
    {
        string folder = CopyOfBase(config => config.Replace("\"model_type\": \"llama\"", "\"model_type\": \"gpt_neox\""));
        AssertOneLineError(CliRunner.Run("eval", folder, "--text", TinyLlama.Text("c")), "model_type", "gpt_neox");
    }

    [Fact]
    public void Eval_StrideLongerThanWindow_IsAUsageError()
    {
        var r = CliRunner.Run("eval", TinyLlama.Folder("base"), "--text", TinyLlama.Text("c"), "--window", "64", "--stride", "65");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--stride", r.Stderr);
    }

    [Fact]
    public void Eval_WithAdapter_ScoresTheFloat32MergeLoraApplyWrites_WithoutWritingIt()
    {
        string baseF32 = SharedData.RequireModel("llm/base-f32"), adapter = SharedData.Require("llm/lora-python"), text = TinyLlama.Text("python");
        var adapted = CliRunner.Run("eval", baseF32, "--adapter", adapter, "--text", text, "--max-windows", "4", "--threads", "2", "--json");
        Assert.True(adapted.ExitCode == 0, adapted.Stderr);
        // Independent: lora apply writes W + s·B·A in float32; scoring that folder is the same computation.
        string merged = Path.Combine(SharedData.TempFolder(), "merged");
        Assert.Equal(0, CliRunner.Run("lora", "apply", baseF32, adapter, "-o", merged, "--dtype", "f32").ExitCode);
        var written = CliRunner.Run("eval", merged, "--text", text, "--max-windows", "4", "--threads", "2", "--json");
        Assert.True(written.ExitCode == 0, written.Stderr);
        // PEFT's merged model (the same sum in float32, saved as BF16) is within its rounding; the base is not.
        var peft = CliRunner.Run("eval", Path.GetDirectoryName(SharedData.Require("llm/lora-python-merged/pytorch_model.bin"))!, "--text", text, "--max-windows", "4", "--threads", "2", "--json");
        var plain = CliRunner.Run("eval", baseF32, "--text", text, "--max-windows", "4", "--threads", "2", "--json");
        static double Nll(CliRunner.Result r) => JsonDocument.Parse(r.Stdout).RootElement.GetProperty("texts")[0].GetProperty("nll_per_token").GetDouble();
        Assert.Equal(Nll(written), Nll(adapted));
        Assert.Equal(Nll(peft), Nll(adapted), 1e-3);
        Assert.True(Nll(plain) - Nll(adapted) > 0.05, $"base {Nll(plain)} vs adapted {Nll(adapted)}");   // the adapter was trained on python
        Assert.Equal(baseF32 + "+" + adapter, JsonDocument.Parse(adapted.Stdout).RootElement.GetProperty("model").GetString());
    }

    [Fact]
    public void Eval_AdapterThatIsNotOne_FailsWithOneLineNamingIt()
    {
        string notAnAdapter = SharedData.TempFolder();
        var r = CliRunner.Run("eval", SharedData.RequireModel("llm/base"), "--adapter", notAnAdapter, "--text", TinyLlama.Text("c"), "--max-windows", "1");
        AssertOneLineError(r, notAnAdapter);
    }

    [Fact]
    public void Eval_SeveralModels_OneJsonReportEach_AsTheirSingleRuns_AndATableMarkingTheBest()
    {
        string base_ = TinyLlama.Folder("base"), python = TinyLlama.Folder("ft-python"), text = TinyLlama.Text("python");
        string[] quick = ["--text", text, "--max-windows", "2", "--threads", "2"];
        var both = CliRunner.Run(["eval", base_, python, .. quick, "--json"]);
        Assert.True(both.ExitCode == 0, both.Stderr);
        var models = JsonDocument.Parse(both.Stdout).RootElement.GetProperty("models").EnumerateArray().ToList();
        Assert.Equal([base_, python], models.Select(m => m.GetProperty("model").GetString()));
        foreach (var (m, path) in models.Zip(new[] { base_, python }))
        {
            var single = CliRunner.Run(["eval", path, .. quick, "--json"]);
            Assert.Equal(JsonDocument.Parse(single.Stdout).RootElement.GetProperty("texts")[0].GetProperty("nll_sum").GetDouble(),
                m.GetProperty("texts")[0].GetProperty("nll_sum").GetDouble());
        }
        var table = CliRunner.Run(["eval", base_, python, .. quick]);
        Assert.True(table.ExitCode == 0, table.Stderr);
        string best = Assert.Single(table.Stdout.Split('\n'), l => l.Contains('*') && !l.StartsWith('*'));
        Assert.Contains("ft-python", best);   // the python fine-tune scores best on python
    }

    [Fact]
    public void Eval_SeveralModels_WithAdapter_IsAUsageError_AndAMissingTextFailsBeforeAnyModel()
    {
        string base_ = SharedData.Require("llm/base"), python = SharedData.Require("llm/ft-python");
        var adapter = CliRunner.Run("eval", base_, python, "--adapter", SharedData.Require("llm/lora-python"), "--text", TinyLlama.Text("c"));
        Assert.Equal(2, adapter.ExitCode);
        Assert.Contains("--adapter", adapter.Stderr);
        string missing = Path.Combine(SharedData.TempFolder(), "missing.txt");
        var r = CliRunner.Run("eval", base_, python, "--text", TinyLlama.Text("c"), missing);
        AssertOneLineError(r, "missing.txt");
    }

    private static string CopyOfBase(Func<string, string> editConfig)
    {
        // The fixture set has the tiny Llama's config and tokenizer but not its 6 MB weights: skip without them.
        string source = Path.GetDirectoryName(SharedData.Require("llm/base/model.safetensors"))!;
        string folder = SharedData.TempFolder();
        foreach (string f in new[] { "model.safetensors", "tokenizer.json" }) File.Copy(Path.Combine(source, f), Path.Combine(folder, f));
        string config = File.ReadAllText(Path.Combine(source, "config.json"));
        string edited = editConfig(config);
        Assert.NotEqual(config, edited);
        File.WriteAllText(Path.Combine(folder, "config.json"), edited);
        return folder;
    }

    private static void AssertOneLineError(CliRunner.Result r, params string[] mentions)
    {
        Assert.Equal(1, r.ExitCode);
        Assert.Empty(r.Stdout);
        string line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        foreach (string m in mentions) Assert.Contains(m, line);
    }
}

/// <summary><c>merge … --eval</c>: the merge's scores printed beside its inputs'.</summary>
public sealed class MergeEvalCommandTests
{
    [Fact]
    public void Merge_WithEval_PrintsEveryInputAndTheMergeWithTheirEvalScores()
    {
        string dir = SharedData.TempFolder();
        string text = Path.Combine(dir, "python-head.txt");
        File.WriteAllBytes(text, File.ReadAllBytes(TinyLlama.Text("python")).AsSpan(0, 16 * 128).ToArray());
        string output = Path.Combine(dir, "merged");
        var r = CliRunner.Run("merge", "--method", "linear", "--models", TinyLlama.Folder("ft-prose"), TinyLlama.Folder("ft-python"), "-o", output, "--eval", text);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var rows = r.Stdout.Split('\n').Where(l => l.Contains("ft-p", StringComparison.Ordinal) || l.Contains("(merged)", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, rows.Count);
        Assert.Contains("(merged)", rows[2]);
        foreach (var (model, row) in new[] { ("ft-prose", rows[0]), ("ft-python", rows[1]) })
        {
            var score = WeightSpace.Analysis.Language.LanguageModelEvaluation.Evaluate(TinyLlama.Folder(model), [text], cancellationToken: TestContext.Current.CancellationToken);
            Assert.Contains(score.Texts[0].BitsPerByte.ToString("F6", System.Globalization.CultureInfo.InvariantCulture), row);
        }
    }

    [Fact]
    public void Merge_WithEval_ScoresAGgufInputAndAModelPlusAdapterInput_AsEvalDoes()
    {
        // A GGUF input used to be scored from the folder of its config (no weights there: the run failed after writing
        // the merge), and a MODEL+ADAPTER input was skipped; both are scored as `eval` scores them now.
        string dir = SharedData.TempFolder();
        string text = Path.Combine(dir, "python-head.txt");
        File.WriteAllBytes(text, File.ReadAllBytes(TinyLlama.Text("python")).AsSpan(0, 16 * 128).ToArray());
        string gguf = Path.Combine(dir, "base.gguf"), adapter = SharedData.Require("llm/lora-python"), baseFolder = TinyLlama.Folder("base");
        WeightSpace.Formats.Gguf.GgufHfImport.Write(SharedData.RequireModel("llm/base-f32"), gguf, DType.F32);
        string config = Path.Combine(dir, "merge.yml");
        File.WriteAllText(config, $"merge_method: linear\nmodels:\n  - model: {gguf}\n    parameters: {{weight: 1.0}}\n  - model: {baseFolder}+{adapter}\n    parameters: {{weight: 1.0}}\n");
        var r = CliRunner.Run("merge", config, Path.Combine(dir, "merged"), "--eval", text);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var rows = r.Stdout.Split('\n').Where(l => l.Contains("base", StringComparison.Ordinal) || l.Contains("(merged)", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, rows.Count);
        var ct = TestContext.Current.CancellationToken;
        var fromGguf = WeightSpace.Analysis.Language.LanguageModelEvaluation.Evaluate(gguf, [text], cancellationToken: ct);
        var adapted = WeightSpace.Analysis.Language.LanguageModelEvaluation.Evaluate(baseFolder, [text], new() { AdapterPath = adapter }, cancellationToken: ct);
        Assert.Contains(fromGguf.Texts[0].BitsPerByte.ToString("F6", System.Globalization.CultureInfo.InvariantCulture), rows[0]);
        Assert.Contains(adapted.Texts[0].BitsPerByte.ToString("F6", System.Globalization.CultureInfo.InvariantCulture), rows[1]);
        Assert.Contains("(merged)", rows[2]);
    }
}
