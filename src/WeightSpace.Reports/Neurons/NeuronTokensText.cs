using WeightSpace.Analysis.Neurons;

namespace WeightSpace.Reports.Neurons;

/// <summary>How token ids are shown in neuron outputs: the tokenizer's text (escaped bytes) or <c>#id</c> without one.</summary>
public static class NeuronTokensText
{
    /// <summary>Token <paramref name="id"/> as text.</summary>
    public static string Token(TokenVocabulary? vocabulary, int id) =>
        vocabulary?.Display(id) ?? "#" + id.ToString(CultureInfo.InvariantCulture);

    /// <summary>Tokens quoted and joined, for tables: <c>'def' ' (' '\n'</c>; a quote inside a token is <c>\'</c>.</summary>
    public static string List(TokenVocabulary? vocabulary, ReadOnlySpan<int> ids, int max = int.MaxValue)
    {
        var parts = new List<string>();
        foreach (int id in ids)
        {
            if (parts.Count >= max) break;
            parts.Add("'" + Token(vocabulary, id).Replace("'", "\\'", StringComparison.Ordinal) + "'");
        }
        return string.Join(' ', parts);
    }
}
