namespace WeightSpace.Formats.Peft;

/// <summary>A PEFT adapter tensor name taken apart: the base model's module (or tensor) it belongs to, its role and the
/// adapter name PEFT may have left in it.</summary>
/// <param name="Stored">The name as stored in the adapter file.</param>
/// <param name="Module">For LoRA factors, the module name in the base model (<c>model.layers.0.self_attn.q_proj</c>); for
/// <see cref="PeftTensorRole.Full"/>, the base tensor's full name (<c>lm_head.weight</c>).</param>
/// <param name="Role">What the tensor is.</param>
/// <param name="AdapterName">The adapter name embedded in the tensor name (<c>default</c> in <c>lora_A.default.weight</c>), if any.</param>
public sealed record PeftTensorName(string Stored, string Module, PeftTensorRole Role, string? AdapterName)
{
    /// <summary>The prefix PEFT's <c>PeftModel</c> puts before the base model's names.</summary>
    public const string Prefix = "base_model.model.";

    /// <summary>Parses a stored name: strips <c>base_model.model.</c>, <c>.base_layer</c> and <c>modules_to_save.NAME</c>,
    /// and recognises <c>lora_A</c>, <c>lora_B</c>, <c>lora_embedding_A/B</c> and <c>lora_magnitude_vector</c> with or
    /// without an adapter name and a <c>.weight</c> suffix.</summary>
    /// <returns>Null when the name has a LoRA marker in a place PEFT never puts one (e.g. <c>lora_A.x.y.weight</c>) or an empty module.</returns>
    public static PeftTensorName? Parse(string stored)
    {
        string name = stored.StartsWith(Prefix, StringComparison.Ordinal) ? stored[Prefix.Length..] : stored;
        var parts = name.Split('.').Where(p => p != "base_layer").ToList();
        if (parts.Count == 0 || parts.Any(p => p.Length == 0)) return null;
        for (int i = 0; i < parts.Count; i++)
        {
            PeftTensorRole? role = parts[i] switch
            {
                "lora_A" => PeftTensorRole.LoraA,
                "lora_B" => PeftTensorRole.LoraB,
                "lora_embedding_A" => PeftTensorRole.EmbeddingA,
                "lora_embedding_B" => PeftTensorRole.EmbeddingB,
                "lora_magnitude_vector" => PeftTensorRole.Magnitude,
                _ => null,
            };
            if (role is { } r)
            {
                if (i == 0) return null;
                string module = string.Join('.', parts.Take(i));
                var rest = parts.Skip(i + 1).ToList();
                bool factor = r is PeftTensorRole.LoraA or PeftTensorRole.LoraB;
                // lora_A/lora_B are nn.Linear: always ".weight" (or ".bias" for lora_B); the others are parameters.
                string? last = rest.Count > 0 ? rest[^1] : null;
                if (factor && last is not ("weight" or "bias")) return null;
                if (last == "bias" && r != PeftTensorRole.LoraB) return null;
                if (last is "weight" or "bias") rest.RemoveAt(rest.Count - 1);
                if (rest.Count > 1) return null;
                if (last == "bias") r = PeftTensorRole.LoraBBias;
                return new PeftTensorName(stored, module, r, rest.Count == 1 ? rest[0] : null);
            }
            if (parts[i] == "modules_to_save")
            {
                if (i == 0 || i + 2 >= parts.Count) return null;
                return new PeftTensorName(stored, string.Join('.', parts.Take(i).Concat(parts.Skip(i + 2))), PeftTensorRole.Full, parts[i + 1]);
            }
        }
        return new PeftTensorName(stored, string.Join('.', parts), PeftTensorRole.Full, null);
    }
}
