namespace WeightSpace.Formats.Gguf;

/// <summary>The Hugging Face view of a llama-family GGUF: names as transformers' <c>LlamaForCausalLM</c> has them, and
/// the q/k row permutation that llama.cpp's <c>convert_hf_to_gguf.py</c> (<c>LlamaModel.permute</c>) applies undone.</summary>
/// <remarks>
/// The converter stores <c>w.reshape(n_head, 2, rows / n_head / 2, cols).swapaxes(1, 2).reshape(rows, cols)</c> for
/// q_proj (n_head = <c>llama.attention.head_count</c>) and k_proj (n_head = <c>llama.attention.head_count_kv</c>),
/// so GGUF row h·R + 2i + j (R = rows / n_head, i &lt; R / 2, j &lt; 2) holds HF row h·R + j·R/2 + i. Rows are whole
/// ggml rows (ne[0] elements, whole blocks), so quantised tensors are un-permuted by moving bytes, exactly.
/// </remarks>
internal static partial class GgufHfNames
{
    /// <summary>Architectures mapped (those the converter writes through <c>LlamaModel</c>).</summary>
    public static bool IsKnown(string? architecture) => architecture is "llama";

    private static readonly Dictionary<string, string> LayerRoles = new(StringComparer.Ordinal)
    {
        ["attn_q"] = "self_attn.q_proj", ["attn_k"] = "self_attn.k_proj", ["attn_v"] = "self_attn.v_proj",
        ["attn_output"] = "self_attn.o_proj", ["ffn_gate"] = "mlp.gate_proj", ["ffn_up"] = "mlp.up_proj",
        ["ffn_down"] = "mlp.down_proj", ["attn_norm"] = "input_layernorm", ["ffn_norm"] = "post_attention_layernorm",
    };

    /// <summary>The HF name of <paramref name="ggufName"/> and how many heads its rows are permuted over (0: none);
    /// names without an HF counterpart (e.g. <c>rope_freqs.weight</c>) are kept.</summary>
    public static (string Name, int PermuteHeads) Map(string ggufName, int headCount, int headCountKv)
    {
        switch (ggufName)
        {
            case "token_embd.weight": return ("model.embed_tokens.weight", 0);
            case "output_norm.weight": return ("model.norm.weight", 0);
            case "output.weight": return ("lm_head.weight", 0);
        }
        var m = BlockName().Match(ggufName);
        if (!m.Success || !LayerRoles.TryGetValue(m.Groups[2].Value, out string? role)) return (ggufName, 0);
        string name = $"model.layers.{m.Groups[1].Value}.{role}.{m.Groups[3].Value}";
        int heads = m.Groups[2].Value switch { "attn_q" => headCount, "attn_k" => headCountKv, _ => 0 };
        return (name, heads);
    }

    /// <summary>The GGUF row that HF row <paramref name="row"/> comes from, for a tensor of <paramref name="rows"/>
    /// rows permuted over <paramref name="heads"/> heads.</summary>
    public static long SourceRow(long row, long rows, int heads)
    {
        long perHead = rows / heads, half = perHead / 2;
        long h = row / perHead, within = row % perHead;
        long j = within / half, i = within % half;
        return h * perHead + 2 * i + j;
    }

    /// <summary>The GGUF name of Hugging Face tensor <paramref name="hfName"/> (the inverse of <see cref="Map"/>) and
    /// how many heads its rows are permuted over; null for a name convert_hf_to_gguf.py cannot map.</summary>
    public static (string Name, int PermuteHeads)? ToGguf(string hfName, int headCount, int headCountKv)
    {
        switch (hfName)
        {
            case "model.embed_tokens.weight": return ("token_embd.weight", 0);
            case "model.norm.weight": return ("output_norm.weight", 0);
            case "lm_head.weight": return ("output.weight", 0);
        }
        var m = HfLayerName().Match(hfName);
        if (!m.Success) return null;
        foreach (var (gguf, role) in LayerRoles)
        {
            if (role != m.Groups[2].Value) continue;
            int heads = gguf switch { "attn_q" => headCount, "attn_k" => headCountKv, _ => 0 };
            return ($"blk.{m.Groups[1].Value}.{gguf}.{m.Groups[3].Value}", heads);
        }
        return null;
    }

    /// <summary>The Hugging Face row that GGUF row <paramref name="row"/> holds after the converter's forward permute
    /// (the inverse of <see cref="SourceRow"/>): GGUF row h·R + 2i + j takes HF row h·R + j·R/2 + i.</summary>
    public static long HfRowOf(long row, long rows, int heads)
    {
        long perHead = rows / heads, half = perHead / 2;
        long h = row / perHead, within = row % perHead;
        long i = within / 2, j = within % 2;
        return h * perHead + j * half + i;
    }

    [GeneratedRegex(@"^model\.layers\.(\d+)\.([a-z_]+\.[a-z_]+|[a-z_]+)\.(weight|bias)$")]
    private static partial Regex HfLayerName();

    [GeneratedRegex(@"^blk\.(\d+)\.([a-z_]+)\.(weight|bias)$")]
    private static partial Regex BlockName();
}
