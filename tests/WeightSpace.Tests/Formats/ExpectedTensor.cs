using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;

namespace WeightSpace.Tests.Formats;

/// <summary>Checks a tensor against its entry in an expected.json of the shared data. The safetensors and torch
/// generators write the same fields: <c>numel</c>, <c>sha256_le_contiguous</c>, <c>first</c> (and <c>last</c>),
/// exact float64 sums <c>sum_fsum</c>/<c>sum_abs_fsum</c> (<c>"non-finite"</c> when a value is NaN or ±∞) or an exact
/// integer <c>sum</c>, <c>min</c>/<c>max</c>, and for safetensors <c>st_dtype</c> and <c>shape</c>.</summary>
internal static class ExpectedTensor
{
    public static void AssertMatches(TensorStore store, string name, JsonElement e)
    {
        var info = store.GetInfo(name);
        if (e.TryGetProperty("st_dtype", out var stDType))
        {
            Assert.True(DTypes.TryParseSafetensorsName(stDType.GetString()!, out var dtype));
            Assert.Equal(dtype, info.DType);
        }
        if (e.TryGetProperty("shape", out var shape)) Assert.Equal(shape.EnumerateArray().Select(d => d.GetInt64()), info.Shape.ToArray());
        Assert.Equal(e.GetProperty("numel").GetInt64(), info.ElementCount);

        using var buffer = store.Read(name);
        Assert.Equal(e.GetProperty("sha256_le_contiguous").GetString(), Convert.ToHexStringLower(SHA256.HashData(buffer.Bytes)));
        var first = e.GetProperty("first").EnumerateArray().ToList();
        bool hasLast = e.TryGetProperty("last", out var last) && last.ValueKind != JsonValueKind.Null;

        if (info.DType.IsFloatingPoint())
        {
            double[] values = buffer.ToDoubleArray();
            for (int i = 0; i < first.Count; i++) AssertSame(first[i], values[i], name);
            if (hasLast) AssertSame(last, values[^1], name);
            // Sums are exact (tolerance 0): ExactSum reproduces math.fsum's correctly rounded result, and every element
            // converts to float64 exactly, so any difference is a wrong element, not rounding.
            var sum = e.GetProperty("sum_fsum");
            if (sum.ValueKind == JsonValueKind.String) Assert.Contains(values, v => !double.IsFinite(v));
            else
            {
                Assert.Equal(sum.GetDouble(), ExactSum.FSum(values));
                Assert.Equal(e.GetProperty("sum_abs_fsum").GetDouble(), ExactSum.FSum(values.Select(Math.Abs)));
            }
            if (e.TryGetProperty("min", out var min) && min.ValueKind == JsonValueKind.Number)
            {
                Assert.Equal(min.GetDouble(), values.Min());
                Assert.Equal(e.GetProperty("max").GetDouble(), values.Max());
            }
        }
        else
        {
            // Integers as integers: int64 values beyond 2^53 would not survive a trip through float64.
            long[] values = Integers(buffer.Bytes, info.DType);
            Assert.Equal(first.Select(v => v.GetInt64()), values.Take(first.Count));
            if (hasLast) Assert.Equal(last.GetInt64(), values[^1]);
            Assert.Equal(BigInteger.Parse(e.GetProperty("sum").GetRawText()), values.Aggregate(BigInteger.Zero, (acc, v) => acc + v));
            if (e.TryGetProperty("min", out var min) && min.ValueKind == JsonValueKind.Number)
            {
                Assert.Equal(min.GetInt64(), values.Min());
                Assert.Equal(e.GetProperty("max").GetInt64(), values.Max());
            }
        }
    }

    /// <summary>Bit-exact comparison (so -0.0 and subnormals count); JSON's stand-ins for NaN and ±∞ are strings.</summary>
    private static void AssertSame(JsonElement expected, double actual, string name)
    {
        if (expected.ValueKind == JsonValueKind.String)
        {
            double special = expected.GetString() switch
            {
                "NaN" => double.NaN,
                "Infinity" => double.PositiveInfinity,
                "-Infinity" => double.NegativeInfinity,
                var s => throw new InvalidDataException(s),
            };
            Assert.True(special.Equals(actual), $"{name}: expected {special}, got {actual}");
            return;
        }
        Assert.True(BitConverter.DoubleToInt64Bits(expected.GetDouble()) == BitConverter.DoubleToInt64Bits(actual),
            $"{name}: expected {expected.GetRawText()}, got {actual:R}");
    }

    private static long[] Integers(ReadOnlySpan<byte> bytes, DType dtype) => dtype switch
    {
        DType.I64 => MemoryMarshal.Cast<byte, long>(bytes).ToArray(),
        DType.I32 => [.. MemoryMarshal.Cast<byte, int>(bytes).ToArray().Select(v => (long)v)],
        DType.I16 => [.. MemoryMarshal.Cast<byte, short>(bytes).ToArray().Select(v => (long)v)],
        DType.I8 => [.. MemoryMarshal.Cast<byte, sbyte>(bytes).ToArray().Select(v => (long)v)],
        DType.U8 or DType.Bool => [.. bytes.ToArray().Select(v => (long)v)],
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not an integer dtype"),
    };
}
