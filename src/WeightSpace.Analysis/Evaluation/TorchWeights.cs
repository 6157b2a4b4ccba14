using static TorchSharp.torch;

namespace WeightSpace.Analysis.Evaluation;

/// <summary>Moves weights between a <see cref="TensorStore"/> and TorchSharp tensors.</summary>
public static class TorchWeights
{
    /// <summary>Every tensor of <paramref name="store"/> as a CPU torch tensor: floating types as float32, integer
    /// types as int64. The tensors belong to the caller's dispose scope.</summary>
    public static Dictionary<string, Tensor> ToTensors(TensorStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var info in store.Tensors)
        {
            long[] shape = info.Shape.ToArray();
            result[info.Name] = info.DType.IsFloatingPoint()
                ? tensor(store.ReadSingle(info.Name), shape, ScalarType.Float32)
                : tensor(store.ReadDouble(info.Name).Select(v => (long)v).ToArray(), shape, ScalarType.Int64);
        }
        return result;
    }

    /// <summary>Copies tensors into a new <see cref="InMemoryTensorStore"/> (float types as F32, integer types as I64),
    /// in the order given.</summary>
    /// <param name="tensors">Name → tensor (any device; copied to CPU).</param>
    /// <param name="name">Stands in for a path in messages.</param>
    public static InMemoryTensorStore ToStore(IEnumerable<KeyValuePair<string, Tensor>> tensors, string name = "<torch>")
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var store = new InMemoryTensorStore(name);
        foreach (var (key, t) in tensors)
        {
            using var scope = NewDisposeScope();
            var cpu = t.detach().cpu().contiguous();
            var shape = new Shape(cpu.shape);
            if (cpu.is_floating_point())
                store.Add(key, cpu.to_type(ScalarType.Float32).data<float>().ToArray(), cpu.shape);
            else
            {
                var values = cpu.to_type(ScalarType.Int64).data<long>().ToArray();
                store.Add(new TensorInfo(key, DType.I64, shape), MemoryMarshal.AsBytes(values.AsSpan()));
            }
        }
        return store;
    }
}
