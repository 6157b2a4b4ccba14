using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Tests.Analysis.Lora;

/// <summary>Writes small PEFT adapter folders (config text + safetensors) for tests.</summary>
internal static class LoraFixtures
{
    public const string Prefix = "base_model.model.";

    /// <summary>A LoRA config: every key PEFT needs, the caller's JSON members appended (later keys must not repeat).</summary>
    public static string Config(int r, double alpha, string extra = "", string targets = "[\"q_proj\", \"v_proj\"]") =>
        $$"""{ "peft_type": "LORA", "r": {{r}}, "lora_alpha": {{alpha.ToString(System.Globalization.CultureInfo.InvariantCulture)}}, "target_modules": {{targets}}{{(extra.Length > 0 ? ", " + extra : "")}} }""";

    public static string Write(string config, InMemoryTensorStore tensors, string? folder = null)
    {
        folder ??= Path.Combine(SharedData.TempFolder(), "adapter");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), config);
        SafetensorsWriter.Copy(tensors, Path.Combine(folder, "adapter_model.safetensors"));
        return folder;
    }

    public static float[] Read(TensorStore store, string name) => store.ReadSingle(name);
}
