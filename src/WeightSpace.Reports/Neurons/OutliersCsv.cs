using WeightSpace.Analysis.Outliers;

namespace WeightSpace.Reports.Neurons;

/// <summary>The CSV of <c>weightspace outliers --csv FILE</c>: one row per outlier (tensor, layer, role, rank, row,
/// column, value, ratio_to_rms, matrix_rms).</summary>
public static class OutliersCsv
{
    /// <summary>Writes the CSV to <paramref name="path"/> through a temp file and a rename.</summary>
    public static void WriteFile(string path, IReadOnlyList<MatrixOutliers> matrices)
    {
        ArgumentNullException.ThrowIfNull(matrices);
        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), leaveOpen: true);
            Write(writer, matrices);
        });
    }

    /// <summary>Writes the CSV to <paramref name="writer"/>.</summary>
    public static void Write(TextWriter writer, IReadOnlyList<MatrixOutliers> matrices)
    {
        ArgumentNullException.ThrowIfNull(matrices);
        CsvWriter.WriteRow(writer, ["tensor", "layer", "role", "rank", "row", "column", "value", "ratio_to_rms", "matrix_rms"]);
        foreach (var m in matrices)
            for (int i = 0; i < m.Outliers.Count; i++)
            {
                var o = m.Outliers[i];
                CsvWriter.WriteRow<object?>(writer, [m.Tensor, m.Layer, m.Role.ToString(), i + 1, o.Row, o.Column, o.Value, o.RatioToRms, m.Rms]);
            }
    }
}
