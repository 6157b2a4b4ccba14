namespace WeightSpace.Analysis.Lora;

/// <summary>Opens a model given as a file or a Hugging Face folder, including legacy folders that hold only
/// <c>pytorch_model.bin</c> (read through the restricted unpickler).</summary>
public static class ModelFolder
{
    /// <summary>Opens <paramref name="path"/> lazily (<see cref="Checkpoint.Open"/>, which reads legacy folders through
    /// their <c>pytorch_model.bin</c>).</summary>
    /// <exception cref="FileNotFoundException">Nothing exists there.</exception>
    /// <exception cref="UnsupportedFormatException">No checkpoint WeightSpace reads.</exception>
    public static TensorStore Open(string path) => Checkpoint.Open(path);

    /// <summary>The folder holding the model's config and tokenizer files: itself if a folder, else the file's folder.</summary>
    public static string FolderOf(string path) => Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
}
