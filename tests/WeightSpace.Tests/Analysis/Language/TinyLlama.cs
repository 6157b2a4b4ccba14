using System.Text.Json;

namespace WeightSpace.Tests.Analysis.Language;

/// <summary>The tiny Llama family of ../shared/data/llm and PyTorch's expected values for it (expected_ppl.json,
/// base.onnx.expected.json; made by make_tinyllama.py, not by this project).</summary>
internal static class TinyLlama
{
    public static readonly string[] Models = ["base-f32", "base", "ft-prose", "ft-python", "ft-c", "lora-python-merged"];
    public static readonly string[] Texts = ["prose", "python", "c"];

    public static string Folder(string model)
    {
        string folder = SharedData.Require($"llm/{model}");
        // The in-repo fixture set keeps the tiny Llama's config and tokenizer but not its weights (6–13 MB each).
        if (!new[] { "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "adapter_model.safetensors" }.Any(f => File.Exists(Path.Combine(folder, f))))
            Assert.Skip($"{folder} has no weights (tests/fixtures keeps only the tiny Llama's config and tokenizer); run with ../shared/data beside the repo");
        return folder;
    }
    public static string Text(string name) => SharedData.Require($"llm/eval/{name}.txt");

    /// <summary>A quick protocol for tests that compare two ways of scoring the same model: the first
    /// <paramref name="windows"/> windows, one torch thread (the suite runs tests in parallel).</summary>
    public static WeightSpace.Analysis.Language.LanguageModelEvaluationOptions Quick(int windows) => new()
    {
        Protocol = new WeightSpace.Analysis.Language.PerplexityOptions { MaxWindows = windows },
        Model = new WeightSpace.Analysis.Language.LanguageModelOptions { TorchThreads = 1 },
    };
    public static string Onnx => SharedData.Require("llm/base.onnx");

    /// <summary>Only base-f32 holds float32 weights; the others are BF16 (1e-4 vs 2e-3 nats in the issue).</summary>
    public static double Tolerance(string model) => model == "base-f32" ? 1e-4 : 2e-3;

    public static JsonElement Expected(string model, string text)
    {
        using var doc = SharedData.Json("llm/expected_ppl.json");
        return doc.RootElement.GetProperty("results").GetProperty(model).GetProperty(text).Clone();
    }

    public static double[] FirstWindowSums(string model, string text) =>
        [.. Expected(model, text).GetProperty("first_windows_nll_sum").EnumerateArray().Select(v => v.GetDouble())];

    public static JsonElement LogitsReference()
    {
        using var doc = SharedData.Json("llm/base.onnx.expected.json");
        return doc.RootElement.GetProperty("logits_reference").Clone();
    }

    public static IEnumerable<TheoryDataRow<string>> ModelNames() => Models.Select(m => new TheoryDataRow<string>(m));
}
