using WeightSpace.Formats;
using WeightSpace.Formats.Hub;
using WeightSpace.Formats.Safetensors;

namespace WeightSpace.Tests.Formats.Hub;

/// <summary>Hub ids resolved from a cache laid out as huggingface_hub writes it (refs/, snapshots/ of symlinks into
/// blobs/), in a temp folder; never a network call.</summary>
public sealed class HuggingFaceCacheTests
{
    private const string CommitMain = "0123456789abcdef0123456789abcdef01234567";
    private const string CommitV1 = "fedcba9876543210fedcba9876543210fedcba98";

    /// <summary>Builds <c>models--org--tiny</c> with branch main and tag v1 at two commits whose weights differ.</summary>
    private static HuggingFaceCache MakeCache(out string root)
    {
        root = Path.Combine(SharedData.TempFolder(), "hub");
        string repo = Path.Combine(root, "models--org--tiny");
        Directory.CreateDirectory(Path.Combine(repo, "refs", "pr"));
        Directory.CreateDirectory(Path.Combine(repo, "blobs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), CommitMain);
        File.WriteAllText(Path.Combine(repo, "refs", "v1"), CommitV1 + "\n");
        File.WriteAllText(Path.Combine(repo, "refs", "pr", "1"), CommitV1);
        foreach (var (commit, value) in new[] { (CommitMain, 2f), (CommitV1, 1f) })
        {
            string snapshot = Path.Combine(repo, "snapshots", commit);
            Directory.CreateDirectory(snapshot);
            // As huggingface_hub does: the snapshot's file is a relative symlink to a blob named by its hash.
            string blob = Path.Combine(repo, "blobs", "blob-" + commit[..8]);
            using (var store = new InMemoryTensorStore().Add("w", [value, value], 2))
                SafetensorsWriter.Copy(store, blob);
            File.CreateSymbolicLink(Path.Combine(snapshot, "model.safetensors"), Path.Combine("..", "..", "blobs", "blob-" + commit[..8]));
            File.WriteAllText(Path.Combine(snapshot, "config.json"), "{\"model_type\":\"llama\"}");
        }
        return new HuggingFaceCache(root, "test");
    }

    private static float FirstValue(string reference, HuggingFaceCache cache)
    {
        using var store = Checkpoint.Open(reference, CheckpointOptions.Default with { HubCache = cache });
        using var buffer = store.Read("w");
        var values = new float[2];
        buffer.CopyTo(values);
        return values[0];
    }

    [Theory]
    [InlineData("org/tiny", 2f)]
    [InlineData("org/tiny@main", 2f)]
    [InlineData("org/tiny@v1", 1f)]
    [InlineData("org/tiny@pr/1", 1f)]
    [InlineData("org/tiny@" + CommitV1, 1f)]
    [InlineData("org/tiny@fedcba98", 1f)]
    public void Open_HubId_ReadsTheSnapshotOfThatRevision(string reference, float expected) =>
        Assert.Equal(expected, FirstValue(reference, MakeCache(out _)));

    [Fact]
    public void Resolve_HubId_GivesSnapshotFolder()
    {
        var cache = MakeCache(out string root);
        var reference = ModelReference.Resolve("org/tiny@v1", cache);
        Assert.Equal(Path.Combine(root, "models--org--tiny", "snapshots", CommitV1), reference.Path);
        Assert.Equal("org/tiny", reference.RepoId);
        Assert.Equal("v1", reference.Revision);
        Assert.False(reference.HasAdapter);
    }

    [Fact]
    public void Resolve_ModelPlusAdapter_ResolvesBothParts()
    {
        var cache = MakeCache(out string root);
        string adapter = SharedData.TempFolder();
        var reference = ModelReference.Resolve("org/tiny+" + adapter, cache);
        Assert.Equal(Path.Combine(root, "models--org--tiny", "snapshots", CommitMain), reference.Path);
        Assert.Equal(adapter, reference.Adapter!.Path);
        var error = Assert.Throws<UnsupportedFormatException>(() => Checkpoint.Open("org/tiny+" + adapter, CheckpointOptions.Default with { HubCache = cache }));
        Assert.Contains("MODEL+ADAPTER", error.Message);
    }

    [Fact]
    public void Resolve_ExistingPathWithPlusAndAt_IsAPath()
    {
        string dir = Path.Combine(SharedData.TempFolder(), "a+b@c");
        Directory.CreateDirectory(dir);
        var reference = ModelReference.Resolve(dir, MakeCache(out _));
        Assert.Equal(dir, reference.Path);
        Assert.Null(reference.RepoId);
    }

    [Fact]
    public void Open_MissingRepo_SaysWhereItLookedAndHowToDownload()
    {
        var cache = MakeCache(out string root);
        var error = Assert.Throws<ModelNotCachedException>(() => Checkpoint.Open("mistralai/Mistral-7B-v0.1", CheckpointOptions.Default with { HubCache = cache }));
        Assert.Contains("models--mistralai--Mistral-7B-v0.1", error.Message);
        Assert.Contains(root, error.Message);
        Assert.Contains("hf download mistralai/Mistral-7B-v0.1", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Open_MissingRevision_ListsTheRefsItHas()
    {
        var error = Assert.Throws<ModelNotCachedException>(() => Checkpoint.Open("org/tiny@v9", CheckpointOptions.Default with { HubCache = MakeCache(out _) }));
        Assert.Contains("'v9'", error.Message);
        Assert.Contains("main, pr/1, v1", error.Message);
        Assert.Contains("--revision v9", error.Message);
    }

    [Theory]
    [InlineData("org/tiny@../../x")]
    [InlineData("org/tiny@/etc/passwd")]
    public void Open_RevisionEscapingRefs_IsRefused(string reference) =>
        Assert.Throws<ModelNotCachedException>(() => Checkpoint.Open(reference, CheckpointOptions.Default with { HubCache = MakeCache(out _) }));

    [Fact]
    public void Open_MistypedBareFile_IsFileNotFound() =>
        Assert.Throws<FileNotFoundException>(() => Checkpoint.Open("modle.safetensors", CheckpointOptions.Default with { HubCache = MakeCache(out _) }));

    [Fact]
    public void Open_RefWithGarbage_IsRefused()
    {
        var cache = MakeCache(out string root);
        File.WriteAllText(Path.Combine(root, "models--org--tiny", "refs", "main"), "not a hash");
        var error = Assert.Throws<ModelNotCachedException>(() => Checkpoint.Open("org/tiny", CheckpointOptions.Default with { HubCache = cache }));
        Assert.Contains("does not hold a commit hash", error.Message);
    }

    [Theory]
    [InlineData("HF_HUB_CACHE", "/a/hub", "/a/hub")]
    [InlineData("HUGGINGFACE_HUB_CACHE", "/b", "/b")]
    [InlineData("HF_HOME", "/c", "/c/hub")]
    [InlineData("XDG_CACHE_HOME", "/d", "/d/huggingface/hub")]
    public void FromEnvironment_FollowsHuggingFaceHubOrder(string variable, string value, string expected)
    {
        var cache = HuggingFaceCache.FromEnvironment(name => name == variable ? value : null);
        Assert.Equal(expected, cache.Root);
        Assert.Equal(variable, cache.Source);
    }

    [Fact]
    public void FromEnvironment_HubCacheWinsOverHome()
    {
        var cache = HuggingFaceCache.FromEnvironment(name => name switch { "HF_HUB_CACHE" => "/x", "HF_HOME" => "/y", _ => null });
        Assert.Equal("/x", cache.Root);
    }

    [Fact]
    public void FromEnvironment_Default_IsUnderHome()
    {
        var cache = HuggingFaceCache.FromEnvironment(_ => null);
        Assert.EndsWith(Path.Combine(".cache", "huggingface", "hub"), cache.Root);
    }

    [Fact]
    public void Open_FolderWithPytorchModelBin_ReadsIt()
    {
        string folder = SharedData.Require("llm/lora-python-merged");
        using var store = Checkpoint.Open(folder);
        Assert.Equal(CheckpointFormat.PyTorch, store.Format);
        Assert.Contains(store.Tensors, t => t.Name == "model.embed_tokens.weight");
    }
}
