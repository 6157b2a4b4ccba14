namespace WeightSpace.Formats.Hub;

/// <summary>A model as mergekit and the Hugging Face tools name it: a local path (file, folder or shard index), a hub
/// id resolved offline from the local cache (<c>ORG/NAME</c>, <c>ORG/NAME@REVISION</c> with a branch, tag or commit),
/// or <c>MODEL+ADAPTER</c>, a model with a LoRA adapter to apply first.</summary>
/// <param name="Text">The reference as typed.</param>
/// <param name="Path">The local file or folder of the model (for <c>MODEL+ADAPTER</c>, of the model part).</param>
/// <param name="RepoId">The hub id when the model came from the cache, else <see langword="null"/>.</param>
/// <param name="Revision">The revision asked for with <c>@</c>, else <see langword="null"/> (the cache's <c>main</c>).</param>
/// <param name="Adapter">The LoRA adapter of a <c>MODEL+ADAPTER</c> reference, resolved the same way; else <see langword="null"/>.</param>
public sealed record ModelReference(string Text, string Path, string? RepoId, string? Revision, ModelReference? Adapter)
{
    /// <summary>True when the reference names an adapter to apply on top of the model.</summary>
    public bool HasAdapter => Adapter is not null;

    /// <summary>Resolves <paramref name="text"/> without any network access. A path that exists is always taken as a
    /// path, even if it contains <c>+</c> or <c>@</c>.</summary>
    /// <param name="text">The reference.</param>
    /// <param name="cache">The hub cache; <see cref="HuggingFaceCache.FromEnvironment"/> if null.</param>
    /// <exception cref="FileNotFoundException">Not a path, and not of the form of a hub id.</exception>
    /// <exception cref="ModelNotCachedException">A hub id (or revision) that the cache does not hold.</exception>
    public static ModelReference Resolve(string text, HuggingFaceCache? cache = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        if (File.Exists(text) || Directory.Exists(text)) return new ModelReference(text, text, null, null, null);
        int plus = text.IndexOf('+', StringComparison.Ordinal);
        if (plus > 0 && plus < text.Length - 1)
        {
            cache ??= HuggingFaceCache.FromEnvironment();
            var model = ResolveSingle(text[..plus], cache);
            var adapter = ResolveSingle(text[(plus + 1)..], cache);
            return new ModelReference(text, model.Path, model.RepoId, model.Revision, adapter);
        }
        return ResolveSingle(text, cache ?? HuggingFaceCache.FromEnvironment());
    }

    private static ModelReference ResolveSingle(string text, HuggingFaceCache cache)
    {
        if (File.Exists(text) || Directory.Exists(text)) return new ModelReference(text, text, null, null, null);
        if (!HuggingFaceCache.LooksLikeRepoId(text))
            throw new FileNotFoundException($"{text}: no such file or directory", text);
        int at = text.IndexOf('@', StringComparison.Ordinal);
        string repoId = at < 0 ? text : text[..at];
        string? revision = at < 0 ? null : text[(at + 1)..];
        string? snapshot = cache.TryResolve(repoId, revision, out string why);
        if (snapshot is null)
        {
            // A bare name with no slash is far more often a mistyped file than a hub id: say both.
            if (!repoId.Contains('/') && revision is null)
                throw new FileNotFoundException($"{text}: no such file or directory (nor a model in the Hugging Face cache at {cache.Root})", text);
            cache.Resolve(repoId, revision); // throws ModelNotCachedException with the full explanation
        }
        return new ModelReference(text, snapshot!, repoId, revision, null);
    }
}
