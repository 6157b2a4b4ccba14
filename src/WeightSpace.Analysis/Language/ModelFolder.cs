namespace WeightSpace.Analysis.Language;

/// <summary>Finds the files of a Hugging Face model folder: config.json, tokenizer.json and the weights.</summary>
internal static class ModelFolder
{
    /// <summary>The config.json and the path to open the weights from, for a folder or a weights file inside one.</summary>
    public static (string ConfigPath, string WeightsPath) Resolve(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path))
        {
            string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
            return (Require(Path.Combine(folder, "config.json"), path), path);
        }
        if (!Directory.Exists(path)) throw new FileNotFoundException($"{path}: no such file or directory", path);
        string config = Require(Path.Combine(path, "config.json"), path);
        // Safetensors (one file or shards with an index) are preferred, as transformers does; else the legacy torch file.
        if (File.Exists(Path.Combine(path, "model.safetensors.index.json")) || Directory.EnumerateFiles(path, "*.safetensors").Any())
            return (config, path);
        string bin = Path.Combine(path, "pytorch_model.bin");
        if (File.Exists(bin)) return (config, bin);
        throw new FileNotFoundException($"{path}: no weights (expected *.safetensors, model.safetensors.index.json or pytorch_model.bin)", path);
    }

    /// <summary>The tokenizer.json beside the model's config.</summary>
    public static string TokenizerPath(string modelPath)
    {
        string folder = File.Exists(modelPath) ? Path.GetDirectoryName(Path.GetFullPath(modelPath))! : modelPath;
        return Require(Path.Combine(folder, "tokenizer.json"), modelPath);
    }

    private static string Require(string file, string model) =>
        File.Exists(file) ? file : throw new FileNotFoundException($"{model}: no {Path.GetFileName(file)} (a Hugging Face model folder needs one)", file);
}
