using System.Globalization;
using System.Text;

namespace WeightSpace.Reports.Html;

/// <summary>Writes a <see cref="ReportTable"/> as RFC 4180 CSV with full-precision, culture-invariant numbers.</summary>
public static class CsvTable
{
    /// <summary>The table as CSV text (header row first, CRLF line ends as RFC 4180 says).</summary>
    public static string ToCsv(ReportTable table)
    {
        var sb = new StringBuilder();
        sb.AppendJoin(',', table.Columns.Select(Quote)).Append("\r\n");
        foreach (var row in table.Rows)
            sb.AppendJoin(',', row.Select(Cell)).Append("\r\n");
        return sb.ToString();
    }

    private static string Cell(object? cell) => cell switch
    {
        null => "",
        string s => Quote(s),
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        IFormattable n => n.ToString(null, CultureInfo.InvariantCulture),
        _ => Quote(cell.ToString() ?? ""),
    };

    /// <summary>Quotes a field when it holds a comma, quote or line break; doubles inner quotes.</summary>
    public static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;
}
