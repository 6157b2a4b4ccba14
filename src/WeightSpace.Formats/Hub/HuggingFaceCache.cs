namespace WeightSpace.Formats.Hub;

/// <summary>The local Hugging Face hub cache, read exactly as <c>huggingface_hub</c> lays it out, never over the
/// network: <c>models--ORG--NAME/refs/REVISION</c> holds a commit hash, <c>models--ORG--NAME/snapshots/HASH/</c> the
/// files of that commit (symbolic links into <c>blobs/</c>).</summary>
/// <remarks>The root is <c>HF_HUB_CACHE</c>, else <c>HUGGINGFACE_HUB_CACHE</c>, else <c>HF_HOME/hub</c>, else
/// <c>XDG_CACHE_HOME/huggingface/hub</c>, else <c>~/.cache/huggingface/hub</c> — the order of huggingface_hub's
/// <c>constants.py</c>.</remarks>
public sealed partial class HuggingFaceCache
{
    /// <summary>The default revision, as in huggingface_hub.</summary>
    public const string DefaultRevision = "main";

    /// <summary>Creates a view of the cache folder <paramref name="root"/> (the folder holding <c>models--*</c>).</summary>
    public HuggingFaceCache(string root, string source)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = root;
        Source = source;
    }

    /// <summary>The cache folder that holds the <c>models--ORG--NAME</c> folders.</summary>
    public string Root { get; }

    /// <summary>How <see cref="Root"/> was found (<c>HF_HUB_CACHE</c>, <c>HF_HOME</c>, the default …), for messages.</summary>
    public string Source { get; }

    /// <summary>The cache that huggingface_hub would use with this process's environment.</summary>
    /// <param name="environment">Reads an environment variable; <see cref="Environment.GetEnvironmentVariable(string)"/> if null.</param>
    public static HuggingFaceCache FromEnvironment(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        string? Get(string name) => environment(name) is { Length: > 0 } v ? ExpandHome(v) : null;
        if (Get("HF_HUB_CACHE") is { } hub) return new HuggingFaceCache(hub, "HF_HUB_CACHE");
        if (Get("HUGGINGFACE_HUB_CACHE") is { } legacy) return new HuggingFaceCache(legacy, "HUGGINGFACE_HUB_CACHE");
        if (Get("HF_HOME") is { } home) return new HuggingFaceCache(Path.Combine(home, "hub"), "HF_HOME");
        if (Get("XDG_CACHE_HOME") is { } xdg) return new HuggingFaceCache(Path.Combine(xdg, "huggingface", "hub"), "XDG_CACHE_HOME");
        return new HuggingFaceCache(Path.Combine(HomeDirectory(), ".cache", "huggingface", "hub"), "the default");
    }

    /// <summary>True if <paramref name="text"/> has the form of a hub repository id (<c>NAME</c> or <c>ORG/NAME</c>,
    /// letters, digits, <c>-</c>, <c>_</c>, <c>.</c>; not starting with a dot), optionally with <c>@REVISION</c>.</summary>
    public static bool LooksLikeRepoId(string text) => RepoIdPattern().IsMatch(text);

    /// <summary>The folder huggingface_hub keeps <paramref name="repoId"/> in (it may not exist).</summary>
    public string RepoFolder(string repoId) => Path.Combine(Root, "models--" + repoId.Replace("/", "--", StringComparison.Ordinal));

    /// <summary>Finds the snapshot folder of <paramref name="repoId"/> at <paramref name="revision"/> (a branch or
    /// tag listed in <c>refs/</c>, or a commit hash present in <c>snapshots/</c>).</summary>
    /// <returns>The snapshot folder, or <see langword="null"/> with <paramref name="why"/> saying what was missing.</returns>
    public string? TryResolve(string repoId, string? revision, out string why)
    {
        revision ??= DefaultRevision;
        string folder = RepoFolder(repoId);
        if (!Directory.Exists(folder))
        {
            why = $"{folder} does not exist";
            return null;
        }
        string snapshots = Path.Combine(folder, "snapshots");
        string? commit = null;
        // refs/ holds branches and tags (refs/pr/1 for pull requests), each a file with the commit hash.
        string refFile = Path.Combine(folder, "refs", revision.Replace('/', Path.DirectorySeparatorChar));
        if (IsSafeRelative(revision) && File.Exists(refFile))
        {
            string text = ReadSmallText(refFile).Trim();
            if (!CommitPattern().IsMatch(text))
            {
                why = $"{refFile} does not hold a commit hash";
                return null;
            }
            commit = text;
        }
        else if (CommitPattern().IsMatch(revision))
        {
            commit = revision;
        }
        else if (revision.Length is >= 7 and < 40 && HexPattern().IsMatch(revision) && Directory.Exists(snapshots))
        {
            // A short commit hash: accepted when exactly one snapshot starts with it.
            var matches = Directory.GetDirectories(snapshots).Select(Path.GetFileName).Where(n => n!.StartsWith(revision, StringComparison.Ordinal)).ToList();
            if (matches.Count == 1) commit = matches[0];
        }
        if (commit is null)
        {
            why = $"revision '{revision}' is neither a ref in {Path.Combine(folder, "refs")} ({Describe(Refs(folder))}) nor a commit in {snapshots} ({Describe(Snapshots(snapshots))})";
            return null;
        }
        string snapshot = Path.Combine(snapshots, commit);
        if (!Directory.Exists(snapshot))
        {
            why = $"revision '{revision}' points to commit {commit}, but {snapshot} does not exist";
            return null;
        }
        why = "";
        return snapshot;
    }

    /// <summary>Resolves <paramref name="repoId"/> at <paramref name="revision"/> to its snapshot folder.</summary>
    /// <exception cref="ModelNotCachedException">The repository or revision is not in the cache.</exception>
    public string Resolve(string repoId, string? revision)
    {
        string? snapshot = TryResolve(repoId, revision, out string why);
        if (snapshot is not null) return snapshot;
        string id = revision is null ? repoId : $"{repoId}@{revision}";
        throw new ModelNotCachedException(id, $"'{id}': not a local path and not in the Hugging Face cache ({why}; cache from {Source}: {Root}). " +
            $"WeightSpace never downloads: fetch it first with `hf download {repoId}{(revision is null ? "" : " --revision " + revision)}`, or give a local path");
    }

    private static IEnumerable<string> Refs(string folder)
    {
        string refs = Path.Combine(folder, "refs");
        if (!Directory.Exists(refs)) return [];
        return Directory.EnumerateFiles(refs, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(refs, f).Replace(Path.DirectorySeparatorChar, '/'));
    }

    private static IEnumerable<string> Snapshots(string snapshots) =>
        Directory.Exists(snapshots) ? Directory.EnumerateDirectories(snapshots).Select(d => Path.GetFileName(d)!) : [];

    private static string Describe(IEnumerable<string> names)
    {
        var list = names.Order(StringComparer.Ordinal).Take(6).ToList();
        return list.Count == 0 ? "none" : string.Join(", ", list);
    }

    private static bool IsSafeRelative(string revision) =>
        !revision.Split('/').Any(part => part is "" or "." or "..") && !Path.IsPathRooted(revision) && !revision.Contains('\\');

    private static string ReadSmallText(string path)
    {
        // A ref file holds 40 hex digits; anything much larger is not a ref and is not read whole.
        using var stream = File.OpenRead(path);
        var buffer = new byte[128];
        int n = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        return System.Text.Encoding.ASCII.GetString(buffer, 0, n);
    }

    private static string ExpandHome(string path) =>
        path == "~" ? HomeDirectory() : path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(HomeDirectory(), path[2..]) : path;

    private static string HomeDirectory() => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } h ? h : "/";

    [GeneratedRegex(@"^(?!\.)[A-Za-z0-9_.\-]{1,96}(/(?!\.)[A-Za-z0-9_.\-]{1,96})?(@[^@\s]{1,256})?$")]
    private static partial Regex RepoIdPattern();

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitPattern();

    [GeneratedRegex("^[0-9a-f]+$")]
    private static partial Regex HexPattern();
}
