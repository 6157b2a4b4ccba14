namespace WeightSpace.Reports.Html;

/// <summary>A table of a report section. Cells are <see cref="string"/>, <see cref="double"/>, <see cref="long"/>,
/// <see cref="int"/>, <see cref="bool"/> or null; numbers sort numerically in the page and keep full precision in the
/// JSON and CSV written next to it.</summary>
/// <param name="id">Unique within its section; used in anchors and in the CSV file name.</param>
/// <param name="title">Shown above the table.</param>
/// <param name="columns">Column headers.</param>
public sealed class ReportTable(string id, string title, params string[] columns)
{
    private readonly List<object?[]> _rows = [];

    /// <summary>Unique within its section.</summary>
    public string Id { get; } = id;
    /// <summary>Shown above the table.</summary>
    public string Title { get; } = title;
    /// <summary>Column headers.</summary>
    public IReadOnlyList<string> Columns { get; } = columns;
    /// <summary>The rows, each with one cell per column.</summary>
    public IReadOnlyList<object?[]> Rows => _rows;

    /// <summary>Adds a row.</summary>
    /// <exception cref="ArgumentException">The cell count differs from the column count, or a cell has an unsupported type.</exception>
    public ReportTable AddRow(params object?[] cells)
    {
        if (cells.Length != Columns.Count)
            throw new ArgumentException($"Table '{Id}' has {Columns.Count} columns; the row has {cells.Length} cells.", nameof(cells));
        foreach (var c in cells)
            if (c is not (null or string or double or float or long or int or bool))
                throw new ArgumentException($"Table '{Id}': cells must be string, number, bool or null, not {c.GetType().Name}.", nameof(cells));
        _rows.Add(cells);
        return this;
    }
}
