using System.Security.Cryptography;
using System.Text.Json;
using WeightSpace.Formats.Onnx;

namespace WeightSpace.Tests.Formats.Onnx;

/// <summary>Compares a model read by <see cref="OnnxReader"/> with the expected JSON that the onnx Python package
/// wrote for it (shared/data/onnx/expected, generator make_onnx_fixtures.py).</summary>
internal static class OnnxExpected
{
    /// <summary>Every per-model expected file (pairs.json and ort_reference.json are checked elsewhere).</summary>
    public static readonly string[] ModelFiles =
    [
        "silero_vad__silero_vad_legacy.json",
        "silero_vad__silero_vad_v5.json",
        "silero_vad__silero_vad_v6.json",
        "openwakeword__hello_deepa.json",
        "openwakeword__hello_deepa_old.json",
        "openwakeword__namaste_deepa.json",
        "ppocr__ch_PP-OCRv4_det_infer.json",
        "ppocr__ch_PP-OCRv4_rec_infer.json",
        "ppocr__ch_ppocr_mobile_v2.0_cls_infer.json",
        "digits_mlp__mlp_seed0.json",
        "digits_mlp__mlp_seed1.json",
        "external__silero_vad_legacy__model.json",
        "external__hello_deepa_per_tensor__model.json",
        "external__ppocr_cls_constants__model.json",
    ];

    public static string StorageName(OnnxWeight w, bool externalLoaded) => w.Storage switch
    {
        // The generator loads external data before describing, so such tensors are reported as raw_data.
        OnnxStorage.External => externalLoaded ? "raw_data" : "external",
        OnnxStorage.RawData => "raw_data",
        OnnxStorage.Empty => "empty",
        _ => w.Info.DType switch
        {
            DType.F32 => "float_data",
            DType.F64 => "double_data",
            DType.I64 => "int64_data",
            _ => "int32_data",
        },
    };

    public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>Sum with Neumaier's compensation (Neumaier 1974, "Rundungsfehleranalyse einiger Verfahren zur
    /// Summation endlicher Summen", ZAMM 54): error at most about 2u·Σ|xᵢ| with u = 2⁻⁵³.</summary>
    public static double CompensatedSum(ReadOnlySpan<double> values, bool absolute)
    {
        double sum = 0, c = 0;
        foreach (double raw in values)
        {
            double x = absolute ? Math.Abs(raw) : raw;
            double t = sum + x;
            c += Math.Abs(sum) >= Math.Abs(x) ? (sum - t) + x : (x - t) + sum;
            sum = t;
        }
        return sum + c;
    }

    public static double Number(JsonElement e) => e.ValueKind == JsonValueKind.String
        ? e.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            var s => throw new InvalidOperationException($"unexpected number string '{s}'"),
        }
        : e.GetDouble();
}
