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
}
