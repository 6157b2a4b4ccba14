using WeightSpace.Analysis.Neurons;

namespace WeightSpace.Reports.Neurons;

/// <summary>The CSV of <c>weightspace neurons --csv FILE</c>: one row per neuron.</summary>
/// <remarks>Columns: tensor, layer, neuron, token_1 … token_k (best first, escaped text), logit_1, id_1; with a
/// baseline also base_token_1, base_id_1, top1_same, top_k_overlap, logit_cosine.</remarks>
public static class NeuronsCsv
{
    /// <summary>Writes the CSV to <paramref name="path"/> through a temp file and a rename.</summary>
    public static void WriteFile(string path, NeuronDecoding result, TokenVocabulary? vocabulary)
    {
        ArgumentNullException.ThrowIfNull(result);
        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), leaveOpen: true);
            Write(writer, result, vocabulary);
        });
    }

    /// <summary>Writes the CSV to <paramref name="writer"/>.</summary>
    public static void Write(TextWriter writer, NeuronDecoding result, TokenVocabulary? vocabulary)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(result);
        bool compare = result.Baseline is not null;
        var header = new List<string> { "tensor", "layer", "neuron" };
        for (int r = 1; r <= result.TopK; r++) header.Add("token_" + r.ToString(CultureInfo.InvariantCulture));
        header.AddRange(["logit_1", "id_1"]);
        if (compare) header.AddRange(["base_token_1", "base_id_1", "top1_same", "top_k_overlap", "logit_cosine"]);
        CsvWriter.WriteRow(writer, header);
        foreach (var layer in result.Layers)
            for (int j = 0; j < layer.NeuronCount; j++)
            {
                var tokens = layer.Tokens(j);
                var row = new List<object?> { layer.Tensor, layer.Layer, j };
                foreach (int id in tokens) row.Add(NeuronTokensText.Token(vocabulary, id));
                row.Add(layer.Logits[j * layer.TopK]);
                row.Add(tokens[0]);
                if (compare)
                {
                    int b = layer.BaselineTokens(j)[0];
                    row.AddRange([NeuronTokensText.Token(vocabulary, b), b, tokens[0] == b, layer.TopKOverlap![j], layer.LogitCosine![j]]);
                }
                CsvWriter.WriteRow(writer, row);
            }
    }
}
