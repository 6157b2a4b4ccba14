using WeightSpace.Formats;

namespace WeightSpace.Analysis.Lora;

/// <summary>Opens a model given as a file or a Hugging Face folder, including legacy folders that hold only
/// <c>pytorch_model.bin</c> (read through the restricted unpickler).</summary>
public static class ModelFolder
{
    private static readonly string[] LegacyWeights = ["pytorch_model.bin", "model.pt", "model.pth"];

    /// <summary>Opens <paramref name="path"/> lazily.</summary>
    /// <exception cref="FileNotFoundException">Nothing exists there.</exception>
    /// <exception cref="UnsupportedFormatException">No checkpoint WeightSpace reads.</exception>
    public static TensorStore Open(string path)
    {
        if (Directory.Exists(path) && !Directory.EnumerateFiles(path, "*.safetensors").Any() && !File.Exists(Path.Combine(path, "model.safetensors.index.json")))
            foreach (string name in LegacyWeights)
                if (File.Exists(Path.Combine(path, name))) return Checkpoint.Open(Path.Combine(path, name));
        return Checkpoint.Open(path);
    }

    /// <summary>The folder holding the model's config and tokenizer files: itself if a folder, else the file's folder.</summary>
    public static string FolderOf(string path) => Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
}
