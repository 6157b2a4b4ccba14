using WeightSpace.Formats.Safetensors;
using WeightSpace.Analysis.Merging.Planning;

namespace WeightSpace.Analysis.Merging.Output;

/// <summary>Runs a merge into a model directory: safetensors weights (sharded when large) plus the non-weight files of
/// the source model directories, published all at once.</summary>
/// <remarks>
/// Everything is written into a hidden sibling directory (<c>.NAME.partial-RANDOM</c>, same file system) that is renamed
/// onto the destination only after every tensor is written and flushed. A failure or cancellation deletes it, so an
/// interrupted run leaves no half-written output directory; a killed process leaves only the hidden sibling.
/// </remarks>
public static class MergeDirectory
{
    private static readonly string[] ConfigFiles = ["config.json", "generation_config.json", "params.json", "preprocessor_config.json"];
    private static readonly string[] TokenizerFiles =
        ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json", "vocab.txt", "merges.txt", "chat_template.json", "chat_template.jinja"];
    private static readonly string[] TokenizerPatterns = ["tokenizer*", "*.model", "*.tiktoken"];
    private static readonly string[] WeightExtensions = [".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".onnx", ".data", ".h5", ".msgpack", ".gguf", ".npz"];

    /// <summary>Merges <paramref name="plan"/> into <paramref name="outputDirectory"/>.</summary>
    /// <param name="plan">A validated plan.</param>
    /// <param name="outputDirectory">Created; must not exist or be empty unless <see cref="MergeDirectoryOptions.Overwrite"/>.</param>
    /// <param name="options">Sharding, metadata, files to copy; null for defaults.</param>
    /// <param name="progress">Notified after each tensor.</param>
    /// <param name="ct">Cancels between tensors; nothing is left behind.</param>
    /// <returns>The weight files written, relative to <paramref name="outputDirectory"/>, then the copied files.</returns>
    /// <exception cref="WeightSpaceException">The output directory exists and is not empty (without Overwrite), a tensor
    /// failed, or a tensor does not fit <see cref="MergeDirectoryOptions.MaxWorkingSetBytes"/>.</exception>
    /// <exception cref="IOException">Writing or renaming failed.</exception>
    public static IReadOnlyList<string> Write(MergePlan plan, string outputDirectory, MergeDirectoryOptions? options = null,
        IProgress<MergeProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var settings = options ?? new MergeDirectoryOptions();
        // Refused before the staging directory exists: a cap no tensor fits leaves nothing on disk.
        if (settings.MaxWorkingSetBytes is { } cap) MergeRunner.RequireWorkingSetWithin(plan, cap);
        return Write(plan.Outputs, (sink, token) =>
        {
            MergeRunner.Run(plan, sink, settings.MaxParallelism, settings.MaxWorkingSetBytes, progress, token);
            return null;
        }, outputDirectory, options, ct);
    }

    /// <summary>Writes tensors produced by <paramref name="produce"/> into <paramref name="outputDirectory"/>, with the same
    /// staging, sharding, file copying and atomic publication as a merge: for producers other than a <see cref="MergePlan"/>
    /// (LoRA application and extraction).</summary>
    /// <param name="outputs">Every tensor the producer will write (name, dtype, shape), in file order.</param>
    /// <param name="produce">Writes every output into the sink (in any order), then returns extra files to place beside the
    /// weights (name → bytes, e.g. <c>adapter_config.json</c>), or null.</param>
    /// <param name="outputDirectory">Created; must not exist or be empty unless <see cref="MergeDirectoryOptions.Overwrite"/>.</param>
    /// <param name="options">Sharding, metadata, files to copy, weights file name; null for defaults.</param>
    /// <param name="ct">Passed to the producer; a cancellation leaves nothing behind.</param>
    /// <returns>The files written, relative to <paramref name="outputDirectory"/>.</returns>
    /// <exception cref="WeightSpaceException">The output directory exists and is not empty (without Overwrite), or the producer failed.</exception>
    /// <exception cref="IOException">Writing or renaming failed.</exception>
    public static IReadOnlyList<string> Write(IReadOnlyList<TensorInfo> outputs,
        Func<IPartialTensorSink, CancellationToken, IReadOnlyDictionary<string, byte[]>?> produce, string outputDirectory,
        MergeDirectoryOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(produce);
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        options ??= new MergeDirectoryOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.ShardSizeBytes);
        string target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(outputDirectory));
        if (!options.Overwrite && IsNonEmptyDirectory(target))
            throw new WeightSpaceException($"{outputDirectory}: output directory exists and is not empty (pass --force / Overwrite to replace it)");
        if (File.Exists(target)) throw new WeightSpaceException($"{outputDirectory}: exists and is a file, not a directory");
        string parent = Path.GetDirectoryName(target) ?? throw new WeightSpaceException($"{outputDirectory}: has no parent directory");
        Directory.CreateDirectory(parent);
        string staging = Path.Combine(parent, $".{Path.GetFileName(target)}.partial-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            var metadata = new Dictionary<string, string>(options.Metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal);
            metadata.TryAdd("format", "pt");
            long total = outputs.Sum(o => o.ByteCount);
            bool sharded = total > options.ShardSizeBytes;
            var writeOptions = new SafetensorsWriteOptions { ShardSizeBytes = sharded ? options.ShardSizeBytes : null, Metadata = metadata };
            IReadOnlyDictionary<string, byte[]>? extra;
            using (var sink = new SafetensorsTensorSink(sharded ? staging : Path.Combine(staging, options.WeightsFileName), outputs, writeOptions))
            {
                extra = produce(sink, ct);
                ct.ThrowIfCancellationRequested();
                sink.Commit();
            }
            var files = new Dictionary<string, byte[]>(options.ExtraFiles ?? new Dictionary<string, byte[]>(), StringComparer.Ordinal);
            foreach (var (name, bytes) in extra ?? new Dictionary<string, byte[]>()) files[name] = bytes;
            foreach (var (name, bytes) in files)
            {
                if (name != Path.GetFileName(name) || name.Length == 0) throw new ArgumentException($"'{name}' is not a plain file name", nameof(produce));
                using var file = new FileStream(Path.Combine(staging, name), FileMode.CreateNew, FileAccess.Write);
                file.Write(bytes);
                file.Flush(flushToDisk: true);
            }
            var written = Directory.EnumerateFiles(staging).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToList();
            if (options.ConfigFilesFrom is { } configDir) CopyMatching(configDir, staging, ConfigFiles, [], written);
            if (options.TokenizerFilesFrom is { } tokDir) CopyMatching(tokDir, staging, TokenizerFiles, TokenizerPatterns, written);
            // Rename, not copy, so readers see either no directory or the complete one (an existing target only with
            // Overwrite, or empty).
            AtomicFile.CommitDirectory(staging, target);
            return written;
        }
        catch
        {
            AtomicFile.TryDeleteDirectory(staging);
            throw;
        }
    }

    private static bool IsNonEmptyDirectory(string path) => Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path).Any();

    private static void CopyMatching(string from, string to, string[] names, string[] patterns, List<string> written)
    {
        if (!Directory.Exists(from)) return;
        var candidates = names.Select(n => Path.Combine(from, n)).Where(File.Exists)
            .Concat(patterns.SelectMany(p => Directory.EnumerateFiles(from, p, SearchOption.TopDirectoryOnly)));
        foreach (string file in candidates.Distinct(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(file);
            // Weights never come along: a "tokenizer.onnx" or a stray shard must not pose as part of the merge.
            if (WeightExtensions.Any(e => name.EndsWith(e, StringComparison.OrdinalIgnoreCase)) || name.EndsWith(".index.json", StringComparison.Ordinal)) continue;
            string dest = Path.Combine(to, name);
            if (File.Exists(dest)) continue;
            File.Copy(file, dest);
            written.Add(name);
        }
    }
}
