
namespace WeightSpace.Analysis.Compatibility;

/// <summary>Compares models' tensor lists against a base from headers alone, so mismatches are known before any data is read.</summary>
public static class ModelCompatibility
{
    /// <summary>Every missing or extra tensor and every shape or dtype difference of <paramref name="models"/> against <paramref name="baseModel"/>.</summary>
    /// <returns>The full list; empty if every model has exactly the base's tensors with the same shapes and dtypes.</returns>
    public static IReadOnlyList<TensorMismatch> Check(TensorStore baseModel, IReadOnlyList<TensorStore> models)
    {
        var problems = new List<TensorMismatch>();
        foreach (var model in models)
        {
            foreach (var b in baseModel.Tensors)
            {
                if (!model.TryGetInfo(b.Name, out var info)) problems.Add(new(model.Path, b.Name, "missing (present in the base)"));
                else if (info.Shape != b.Shape) problems.Add(new(model.Path, b.Name, $"shape {info.Shape} vs base {b.Shape}"));
                // Floating-point tensors are compared as float32 whatever they are stored as (F32 vs a GGUF Q4_K, BF16 vs F32).
                else if (info.DType != b.DType && !(info.DType.IsFloatingPoint() && b.DType.IsFloatingPoint())) problems.Add(new(model.Path, b.Name, $"dtype {info.DType} vs base {b.DType}"));
            }
            foreach (var t in model.Tensors)
                if (!baseModel.Contains(t.Name)) problems.Add(new(model.Path, t.Name, "extra (absent from the base)"));
        }
        return problems;
    }

    /// <summary>Throws if <see cref="Check"/> finds anything.</summary>
    /// <exception cref="ModelMismatchException">Lists every mismatch.</exception>
    public static void Require(TensorStore baseModel, IReadOnlyList<TensorStore> models)
    {
        var problems = Check(baseModel, models);
        if (problems.Count > 0) throw new ModelMismatchException(problems.Select(p => p.ToString()).ToArray());
    }
}
