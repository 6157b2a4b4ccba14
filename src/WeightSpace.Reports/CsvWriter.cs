namespace WeightSpace.Reports;

/// <summary>The one RFC 4180 CSV writer of WeightSpace: CRLF line ends, a field quoted only when it holds a comma,
/// quote or line break (inner quotes doubled), numbers culture-invariant at full precision (<c>"R"</c>), and
/// non-finite doubles spelled as in JSON (<c>NaN</c>, <c>Infinity</c>, <c>-Infinity</c>).</summary>
public static class CsvWriter
{
    /// <summary>A header row and data rows as CSV text.</summary>
    /// <param name="header">Column names.</param>
    /// <param name="rows">One cell per column: string, double, float, bool, any <see cref="IFormattable"/>, or null (empty).</param>
    public static string Format(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<object?>> rows)
    {
        var sb = new StringBuilder();
        using (var writer = new StringWriter(sb, CultureInfo.InvariantCulture)) Write(writer, header, rows);
        return sb.ToString();
    }

    /// <summary>Writes a header row and data rows to <paramref name="writer"/>.</summary>
    public static void Write(TextWriter writer, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<object?>> rows)
    {
        ArgumentNullException.ThrowIfNull(writer);
        WriteRow(writer, header);
        foreach (var row in rows) WriteRow(writer, row);
    }

    /// <summary>Writes one row and its CRLF.</summary>
    public static void WriteRow<T>(TextWriter writer, IReadOnlyList<T> cells)
    {
        for (int i = 0; i < cells.Count; i++)
        {
            if (i > 0) writer.Write(',');
            writer.Write(Field(cells[i]));
        }
        writer.Write("\r\n");
    }

    /// <summary>One cell as CSV field text.</summary>
    public static string Field(object? cell) => cell switch
    {
        null => "",
        string s => Quote(s),
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        IFormattable n => Quote(n.ToString(null, CultureInfo.InvariantCulture)),
        _ => Quote(cell.ToString() ?? ""),
    };

    /// <summary>Quotes a field when it holds a comma, quote or line break; doubles inner quotes.</summary>
    public static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : field;
}
