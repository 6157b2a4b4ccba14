namespace WeightSpace.Analysis.Merging.Config;

/// <summary>Where one token's embedding row comes from when the output vocabulary is built (mergekit's
/// <c>tokenizer.tokens.TOKEN.source</c>).</summary>
public enum TokenSourceKind
{
    /// <summary>No source given: mergekit's default rule (the only model that has it, else the base, else the mean).</summary>
    Default,
    /// <summary>The token's own row in one model (<c>source: MODEL</c>).</summary>
    Model,
    /// <summary>Another token's row in one model (<c>source: {kind: model_token, model: M, token: T | token_id: N}</c>).</summary>
    ModelToken,
    /// <summary>A zero row (<c>source: {kind: zero}</c>).</summary>
    Zero,
}

/// <summary>One entry of the <c>tokenizer.tokens</c> block.</summary>
/// <param name="Kind">Where the row comes from.</param>
/// <param name="Model">The model of <see cref="TokenSourceKind.Model"/> and <see cref="TokenSourceKind.ModelToken"/>.</param>
/// <param name="Token">For <see cref="TokenSourceKind.ModelToken"/>: the source token's text, or null when <paramref name="TokenId"/> is given.</param>
/// <param name="TokenId">For <see cref="TokenSourceKind.ModelToken"/>: the source row index, or null.</param>
/// <param name="Force">Use this source for every model, even those that have the token (mergekit's <c>force: true</c>).</param>
public sealed record TokenEmbeddingSetting(TokenSourceKind Kind, string? Model, string? Token, int? TokenId, bool Force);

/// <summary>The vocabulary the output gets: <c>tokenizer_source</c> or the <c>tokenizer:</c> block.</summary>
/// <param name="Source"><c>base</c>, <c>union</c> or a model reference.</param>
/// <param name="Tokens">Per-token embedding rules (the <c>tokenizer.tokens</c> block; tokens not in the vocabulary are added).</param>
/// <param name="PadToMultipleOf">Rows padded with zeros up to a multiple of this (<c>tokenizer.pad_to_multiple_of</c>), or null.</param>
public sealed record TokenizerSettings(string Source, IReadOnlyDictionary<string, TokenEmbeddingSetting> Tokens, int? PadToMultipleOf);
