using System.Numerics.Tensors;
using Tensor = TorchSharp.torch.Tensor;
using TorchSharp;
using WeightSpace.Formats.Peft;

namespace WeightSpace.Analysis.Lora;

/// <summary>PEFT's LoRA arithmetic on one module, in float32 like PEFT on a float32 adapter.</summary>
internal static class LoraMath
{
    /// <summary>ΔW = s·B·A (PEFT <c>Linear.get_delta_weight</c>: the product first, then the scale), transposed to
    /// [in, out] for <c>fan_in_fan_out</c> and to [num_embeddings, dim] for an embedding, as the base stores it.</summary>
    public static float[] Delta(TensorStore adapter, BoundModule module, double weight)
    {
        using var scope = torch.NewDisposeScope();
        var delta = DeltaTensor(adapter, module.Lora, module.Transposed, weight);
        return delta.data<float>().ToArray();
    }

    /// <summary>ΔW of <paramref name="module"/> as a torch tensor [rows, cols] in the stored orientation (owned by the caller's scope).</summary>
    public static Tensor DeltaTensor(TensorStore adapter, PeftModule module, bool transposed, double weight)
    {
        var a = Load(adapter, module.A);
        var b = Load(adapter, module.B);
        var product = b.matmul(a).mul((float)(weight * module.Scale));
        return (transposed ? product.t() : product).contiguous();
    }

    /// <summary>Applies one adapter module to the base weight <paramref name="w"/> (float32, stored orientation) in place:
    /// W + ΔW, or for DoRA PEFT's merge m / ‖W + ΔW‖ ⊙ (W + ΔW) with the norm of each output row
    /// (<c>DoraLinearLayer.get_weight_norm</c>: <c>torch.linalg.norm(W + ΔW, dim=1)</c> on the [out, in] matrix;
    /// Liu et al. 2024, <see href="https://arxiv.org/abs/2402.09353"/>, eq. (5)).</summary>
    public static void Merge(TensorStore adapter, BoundModule module, double weight, Span<float> w)
    {
        var delta = Delta(adapter, module, weight);
        TensorPrimitives.Add(w, delta, w);
        if (module.Lora.Magnitude is not { } magnitudeInfo) return;
        var magnitude = Read(adapter, magnitudeInfo);
        long rows = module.BaseWeight.Shape[0], cols = module.BaseWeight.Shape[1];
        if (!module.Transposed)
        {
            for (long o = 0; o < rows; o++)
            {
                var row = w.Slice(checked((int)(o * cols)), (int)cols);
                float norm = TensorPrimitives.Norm((ReadOnlySpan<float>)row);
                TensorPrimitives.Multiply(row, magnitude[o] / norm, row);
            }
        }
        else
        {
            // [in, out] storage: output feature o is column o.
            var norms = new double[cols];
            for (long i = 0; i < rows; i++)
            {
                var row = w.Slice(checked((int)(i * cols)), (int)cols);
                for (int o = 0; o < cols; o++) norms[o] += (double)row[o] * row[o];
            }
            var factor = new float[cols];
            for (int o = 0; o < cols; o++) factor[o] = magnitude[o] / (float)Math.Sqrt(norms[o]);
            for (long i = 0; i < rows; i++)
            {
                var row = w.Slice(checked((int)(i * cols)), (int)cols);
                TensorPrimitives.Multiply(row, factor, row);
            }
        }
    }

    /// <summary>Adds s·<c>lora_B.bias</c> to the base bias <paramref name="bias"/> (PEFT's <c>lora_bias</c> merge).</summary>
    public static void MergeBias(TensorStore adapter, BoundModule module, double weight, Span<float> bias)
    {
        var b = Read(adapter, module.Lora.BBias!);
        TensorPrimitives.MultiplyAdd(b, (float)(weight * module.Lora.Scale), bias, bias);
    }

    public static float[] Read(TensorStore store, TensorInfo info)
    {
        using var buffer = store.Read(info.Name);
        return buffer.ToSingleArray();
    }

    public static Tensor Load(TensorStore store, TensorInfo info) => torch.tensor(Read(store, info), info.Shape.ToArray());
}
