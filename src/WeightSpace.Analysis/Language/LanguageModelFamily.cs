namespace WeightSpace.Analysis.Language;

/// <summary>The Llama-family architectures the forward pass implements; they differ in a few lines each.</summary>
public enum LanguageModelFamily
{
    /// <summary><c>llama</c>: Hugging Face <c>LlamaForCausalLM</c> (Llama 1–3, TinyLlama, SmolLM, …).</summary>
    Llama,
    /// <summary><c>mistral</c>: Llama with an optional sliding attention window.</summary>
    Mistral,
    /// <summary><c>qwen2</c>: Llama with biases on the q, k and v projections.</summary>
    Qwen2,
    /// <summary><c>gemma</c> (Gemma 1): RMSNorm scales by 1 + weight, embeddings are multiplied by √hidden_size, GELU (tanh) MLP, tied head.</summary>
    Gemma,
}
