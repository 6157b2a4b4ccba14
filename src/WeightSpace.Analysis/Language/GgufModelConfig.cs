using WeightSpace.Formats.Gguf;

namespace WeightSpace.Analysis.Language;

/// <summary>A llama GGUF file as a language model: the <see cref="LlamaConfig"/> from its <c>llama.*</c> metadata and
/// the tokenizer from its <c>tokenizer.ggml.*</c> metadata, through the same config.json / tokenizer.json that
/// <c>convert model.gguf DIR/</c> writes (so eval of a GGUF and of its converted folder are the same computation).</summary>
public static class GgufModelConfig
{
    /// <summary>Whether <paramref name="path"/> is a GGUF file (by content).</summary>
    public static bool IsGguf(string path) => File.Exists(path) && Checkpoint.Identify(path).Format == CheckpointFormat.Gguf;

    /// <summary>The architecture of a store opened with Hugging Face naming.</summary>
    /// <exception cref="InvalidGgufException">A needed <c>llama.*</c> key is missing or malformed, or the architecture is not llama.</exception>
    /// <exception cref="InvalidModelConfigException">A value is out of range for the forward pass.</exception>
    public static LlamaConfig Config(GgufStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        return LlamaConfig.Parse(Encoding.UTF8.GetBytes(GgufHfExport.ConfigJsonOf(store)), $"{store.Path} (llama.* metadata)");
    }

    /// <summary>The tokenizer of a <c>tokenizer.ggml.model = gpt2</c> (byte-level BPE) or <c>llama</c> (SentencePiece) store.</summary>
    /// <exception cref="UnsupportedModelException">Another tokenizer model (<c>bert</c>, <c>t5</c>, …).</exception>
    /// <exception cref="InvalidGgufException">The token list is missing or malformed.</exception>
    public static HuggingFaceTokenizer Tokenizer(GgufStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        string? json = GgufHfExport.TokenizerJsonOf(store, out _);
        if (json is null)
            throw new UnsupportedModelException(store.Path, "tokenizer.ggml.model", store.Find("tokenizer.ggml.model")?.Value as string ?? "(absent)", "gpt2 (byte-level BPE) or llama (SentencePiece)");
        return HuggingFaceTokenizer.Parse(Encoding.UTF8.GetBytes(json), $"{store.Path} (tokenizer.ggml.* metadata)");
    }
}
