using System.Numerics.Tensors;

namespace WeightSpace.Analysis.Numerics;

/// <summary>Reductions over float spans with float64 accumulation across chunks, so long tensors keep their precision.</summary>
internal static class SpanMath
{
    private const int Chunk = 4096;

    public static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i += Chunk)
        {
            int n = Math.Min(Chunk, a.Length - i);
            sum += TensorPrimitives.Dot(a.Slice(i, n), b.Slice(i, n));
        }
        return sum;
    }

    public static double SumOfSquares(ReadOnlySpan<float> a) => Dot(a, a);

    public static double Norm(ReadOnlySpan<float> a) => Math.Sqrt(SumOfSquares(a));

    public static double SumAbs(ReadOnlySpan<float> a)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i += Chunk)
            sum += TensorPrimitives.SumOfMagnitudes(a.Slice(i, Math.Min(Chunk, a.Length - i)));
        return sum;
    }

    /// <summary>destination = a·x + b·y, element-wise.</summary>
    public static void LinearCombination(ReadOnlySpan<float> x, float a, ReadOnlySpan<float> y, float b, Span<float> destination)
    {
        TensorPrimitives.Multiply(x, a, destination);
        TensorPrimitives.MultiplyAdd(y, b, destination, destination);
    }
}
