using WeightSpace.Analysis.Neurons;

namespace WeightSpace.Reports.Neurons;

/// <summary>The JSON document of <c>weightspace neurons --json</c>.</summary>
/// <remarks>Top level: model, baseline, unembedding, final_norm, top_k, neuron_count, share_top1_unchanged (null
/// without a baseline), layers (tensor, layer, neuron_count, share_top1_unchanged, neurons: [{neuron, token_ids, tokens,
/// logits, and with a baseline: baseline_token_ids, baseline_tokens, top1_same, top_k_overlap, logit_cosine}]), and
/// most_changed (the ranked list).</remarks>
public static class NeuronsJson
{
    /// <summary>Writes <paramref name="result"/> to <paramref name="stream"/>.</summary>
    /// <param name="result">The decoding.</param>
    /// <param name="vocabulary">Token texts, or null to show ids only.</param>
    /// <param name="stream">Destination.</param>
    /// <param name="neurons">Include the per-neuron lists (false: layer summaries and most_changed only).</param>
    public static void Write(NeuronDecoding result, TokenVocabulary? vocabulary, Stream stream, bool neurons = true)
    {
        ArgumentNullException.ThrowIfNull(result);
        using var w = new Utf8JsonWriter(stream, JsonPolicy.WriterOptions);
        w.WriteStartObject();
        w.WriteString("model", result.Model);
        w.WriteStringOrNull("baseline", result.Baseline);
        w.WriteString("unembedding", result.Unembedding);
        w.WriteStringOrNull("final_norm", result.FinalNorm);
        w.WriteNumber("top_k", result.TopK);
        w.WriteNumber("neuron_count", result.NeuronCount);
        WriteShare(w, result.ShareTop1Unchanged);
        w.WriteStartArray("layers");
        foreach (var layer in result.Layers)
        {
            w.WriteStartObject();
            w.WriteString("tensor", layer.Tensor);
            w.WriteNumberOrNull("layer", layer.Layer);
            w.WriteNumber("neuron_count", layer.NeuronCount);
            WriteShare(w, layer.ShareTop1Unchanged);
            if (neurons)
            {
                w.WriteStartArray("neurons");
                for (int j = 0; j < layer.NeuronCount; j++)
                {
                    w.WriteStartObject();
                    w.WriteNumber("neuron", j);
                    WriteTokens(w, "token_ids", "tokens", layer.Tokens(j), vocabulary);
                    w.WriteStartArray("logits");
                    foreach (float v in layer.Logits.AsSpan(j * layer.TopK, layer.TopK)) JsonNumbers.WriteValue(w, v);
                    w.WriteEndArray();
                    if (layer.BaselineTokenIds is not null)
                    {
                        WriteTokens(w, "baseline_token_ids", "baseline_tokens", layer.BaselineTokens(j), vocabulary);
                        w.WriteBoolean("top1_same", layer.Tokens(j)[0] == layer.BaselineTokens(j)[0]);
                        JsonNumbers.Write(w, "top_k_overlap", layer.TopKOverlap![j]);
                        JsonNumbers.Write(w, "logit_cosine", layer.LogitCosine![j]);
                    }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteObjectArray("most_changed", result.MostChanged, (w, c) =>
        {
            w.WriteString("tensor", c.Tensor);
            w.WriteNumberOrNull("layer", c.Layer);
            w.WriteNumber("neuron", c.Neuron);
            JsonNumbers.Write(w, "top_k_overlap", c.TopKOverlap);
            JsonNumbers.Write(w, "logit_cosine", c.LogitCosine);
            WriteTokens(w, "token_ids", "tokens", c.TokenIds, vocabulary);
            WriteTokens(w, "baseline_token_ids", "baseline_tokens", c.BaselineTokenIds, vocabulary);
        });
        w.WriteEndObject();
    }

    private static void WriteShare(Utf8JsonWriter w, double? share)
    {
        if (share is double s) JsonNumbers.Write(w, "share_top1_unchanged", s); else w.WriteNull("share_top1_unchanged");
    }

    private static void WriteTokens(Utf8JsonWriter w, string idsName, string textName, ReadOnlySpan<int> ids, TokenVocabulary? vocabulary)
    {
        w.WriteStartArray(idsName);
        foreach (int id in ids) w.WriteNumberValue(id);
        w.WriteEndArray();
        w.WriteStartArray(textName);
        foreach (int id in ids) w.WriteStringValue(NeuronTokensText.Token(vocabulary, id));
        w.WriteEndArray();
    }
}
