using System.Globalization;
using System.IO.Compression;

namespace WeightSpace.Analysis.Evaluation;

/// <summary>The scikit-learn digits (1797 8×8 images, 17 grey levels) from its CSV form: 64 pixel columns then the label.</summary>
/// <remarks>Split and scaling follow the shared data's generator: test = rows with index % 5 == 0 (360 rows), train = the
/// rest; X = pixel / 16.</remarks>
public static class DigitsDataset
{
    private const int Pixels = 64;
    private const int Side = 8;

    /// <summary>Loads the test (or train) split of <c>digits.csv</c> / <c>digits.csv.gz</c>, transformed.</summary>
    /// <param name="path">The CSV file, gzip-compressed if it ends in <c>.gz</c>.</param>
    /// <param name="transform">Image transform applied after scaling.</param>
    /// <param name="testSplit">True for the rows with index % 5 == 0, false for the others.</param>
    /// <exception cref="InvalidCheckpointException">A row does not have 65 integer cells, or a value is out of range.</exception>
    public static ClassificationDataset Load(string path, DigitsTransform transform = DigitsTransform.None, bool testSplit = true)
    {
        using Stream file = File.OpenRead(path);
        using Stream input = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(input);
        var features = new List<float>();
        var labels = new List<int>();
        Span<float> row = stackalloc float[Pixels];
        int index = 0;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine(), index++)
        {
            if (line.Length == 0) { index--; continue; }
            if ((index % 5 == 0) != testSplit) continue;
            var cells = line.Split(',');
            if (cells.Length != Pixels + 1) throw new InvalidCheckpointException(path, null, $"row {index} has {cells.Length} cells; expected {Pixels} pixels and a label");
            for (int i = 0; i < Pixels; i++)
            {
                if (!int.TryParse(cells[i], NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v > 16)
                    throw new InvalidCheckpointException(path, null, $"row {index}, column {i}: '{cells[i]}' is not a pixel value 0..16");
                row[i] = v / 16f;
            }
            if (!int.TryParse(cells[Pixels], NumberStyles.None, CultureInfo.InvariantCulture, out int label) || label > 9)
                throw new InvalidCheckpointException(path, null, $"row {index}: label '{cells[Pixels]}' is not 0..9");
            for (int i = 0; i < Pixels; i++)
            {
                features.Add(transform switch
                {
                    DigitsTransform.FlipLeftRight => row[i / Side * Side + (Side - 1 - i % Side)],
                    DigitsTransform.Invert => 1 - row[i],
                    _ => row[i],
                });
            }
            labels.Add(label);
        }
        string name = $"digits {(testSplit ? "test" : "train")}{transform switch { DigitsTransform.FlipLeftRight => " (fliplr)", DigitsTransform.Invert => " (invert)", _ => "" }}";
        return new ClassificationDataset(name, features.ToArray(), labels.ToArray(), Pixels);
    }
}
