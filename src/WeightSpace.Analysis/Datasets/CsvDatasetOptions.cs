namespace WeightSpace.Analysis.Datasets;

/// <summary>How to read a numeric CSV file as a dataset.</summary>
public sealed record CsvDatasetOptions
{
    /// <summary>Column holding the integer class; negative counts from the end (default −1: the last column).</summary>
    public int LabelColumn { get; init; } = -1;

    /// <summary>Lines to skip before the data (header rows); default 0.</summary>
    public int HeaderRows { get; init; }

    /// <summary>Field separator; default a comma.</summary>
    public char Delimiter { get; init; } = ',';

    /// <summary>Defaults: no header, label in the last column, comma-separated.</summary>
    public static CsvDatasetOptions Default { get; } = new();
}
