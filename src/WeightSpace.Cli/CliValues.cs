using System.Text.RegularExpressions;

namespace WeightSpace.Cli;

/// <summary>Parsers for option values, shared by the option factories and by commands that parse text themselves.
/// Each throws <see cref="UsageException"/> with a message that starts with the option's name.</summary>
internal static partial class CliValues
{
    /// <summary>A regular expression with a match timeout (names are short; a pathological pattern must not hang).</summary>
    public static Regex ParseRegex(string option, string pattern)
    {
        try { return new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)); }
        catch (ArgumentException e) { throw new UsageException($"{option} '{pattern}' is not a valid regular expression: {e.Message}"); }
    }

    /// <summary>f32, f16, bf16 or f64 (also float32, bfloat16, …).</summary>
    public static DType ParseFloatDType(string option, string text) =>
        DTypes.TryParse(text, out var d) && d is DType.F32 or DType.F16 or DType.BF16 or DType.F64 ? d
            : throw new UsageException($"{option} '{text}' is not one of f32, f16, bf16, f64");

    /// <summary>Parses a size in bytes: a plain number is bytes; K/KB, M/MB, G/GB, T/TB are powers of 1000 and
    /// KiB, MiB, GiB, TiB powers of 1024; <c>B</c> alone is a billion (10⁹), as in mergekit's <c>--out-shard-size 5B</c>.</summary>
    public static long ParseSize(string option, string text)
    {
        var m = SizePattern().Match(text.Trim());
        if (!m.Success) throw new UsageException($"{option} '{text}' is not a size such as 5B, 2GB, 500MB or 512MiB");
        double value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        double unit = m.Groups[2].Value.ToUpperInvariant() switch
        {
            "" => 1,
            "K" or "KB" => 1e3, "M" or "MB" => 1e6, "B" or "G" or "GB" => 1e9, "T" or "TB" => 1e12,
            "KIB" => 1L << 10, "MIB" => 1L << 20, "GIB" => 1L << 30, "TIB" => 1L << 40,
            _ => throw new UsageException($"{option} '{text}': unknown unit '{m.Groups[2].Value}' (use K, M, B/G, T, KB…TB or KiB…TiB)"),
        };
        double bytes = Math.Floor(value * unit);
        if (bytes < 1 || bytes >= long.MaxValue) throw new UsageException($"{option} '{text}' must be between 1 byte and {long.MaxValue} bytes");
        return (long)bytes;
    }

    /// <summary>Bytes for people: 1.50 GiB, 12.0 KiB, 17 B.</summary>
    public static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F2} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F2} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB"),
        _ => $"{bytes} B",
    };

    /// <summary>Counts for people: 6.74B, 1.57M, 12.3K, 17.</summary>
    public static string FormatCount(long count) => count switch
    {
        >= 1_000_000_000 => string.Create(CultureInfo.InvariantCulture, $"{count / 1e9:F2}B"),
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{count / 1e6:F2}M"),
        >= 1_000 => string.Create(CultureInfo.InvariantCulture, $"{count / 1e3:F1}K"),
        _ => count.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>A non-zero finite number or fraction such as <c>1/255</c>.</summary>
    public static float ParseScale(string text)
    {
        string[] parts = text.Split('/');
        bool ok = parts.Length is 1 or 2;
        double value = 1;
        for (int i = 0; ok && i < parts.Length; i++)
        {
            ok = double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) && v != 0;
            value = i == 0 ? v : value / v;
        }
        if (!ok || !double.IsFinite(value) || value == 0 || !float.IsFinite((float)value) || (float)value == 0)
            throw new UsageException($"--scale '{text}' is not a non-zero number or fraction such as 1/255");
        return (float)value;
    }

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)$")]
    private static partial Regex SizePattern();
}
