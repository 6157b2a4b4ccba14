namespace WeightSpace.Analysis.Datasets;

/// <summary>Loads labelled datasets from IDX pairs (MNIST format, plain or gzipped), NumPy .npy/.npz and numeric CSV.</summary>
public static class DatasetLoader
{
    /// <summary>Loads a dataset from whatever <paramref name="path"/> is: a folder of IDX pairs (the split chosen by
    /// <paramref name="split"/>), <c>FEATURES,LABELS</c> (an IDX or .npy pair), an .npz holding <c>x</c> and <c>y</c>,
    /// or a CSV (<c>.csv</c>, <c>.csv.gz</c>) whose last column is the label.</summary>
    /// <exception cref="FileNotFoundException">The path does not exist.</exception>
    /// <exception cref="InvalidDatasetException">The folder has no IDX pair, the kind of file is not recognised, or a
    /// file is malformed.</exception>
    public static Dataset Load(string path, DatasetSplit split = DatasetSplit.Test)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path))
        {
            string[] prefixes = split == DatasetSplit.Train ? ["train", "t10k", "test", "digits"] : ["t10k", "test", "digits"];
            string? prefix = prefixes.FirstOrDefault(p => Directory.EnumerateFiles(path, p + "-images-idx3-ubyte*").Any());
            return prefix is null
                ? throw new InvalidDatasetException(path, "no IDX pair (t10k-, test-, train- or digits-images-idx3-ubyte[.gz]) in this folder")
                : LoadIdxSplit(path, prefix);
        }
        if (path.Contains(','))
        {
            var pair = path.Split(',');
            if (pair.Length != 2) throw new InvalidDatasetException(path, "a pair is written FEATURES,LABELS");
            return pair[0].EndsWith(".npy", StringComparison.OrdinalIgnoreCase) ? LoadNpy(pair[0], pair[1]) : LoadIdx(pair[0], pair[1]);
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file or directory", path);
        if (path.EndsWith(".npz", StringComparison.OrdinalIgnoreCase)) return LoadNpz(path);
        if (path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".csv.gz", StringComparison.OrdinalIgnoreCase))
            return LoadCsv(path);
        throw new InvalidDatasetException(path, "expected a folder of IDX files, IMAGES,LABELS, an .npz or a .csv[.gz] file");
    }

    /// <summary>Loads an IDX image file (magic 0x00000803, [n, rows, cols]) and its label file (0x00000801, [n]).</summary>
    /// <exception cref="InvalidDatasetException">A file is malformed, or the two counts differ.</exception>
    public static Dataset LoadIdx(string imagesPath, string labelsPath, DatasetLoadOptions? options = null)
    {
        options ??= DatasetLoadOptions.Default;
        var (imageShape, pixels) = IdxFile.Read(imagesPath, 3, options);
        var (labelShape, labelBytes) = IdxFile.Read(labelsPath, 1, options);
        if (labelShape[0] != imageShape[0])
            throw new InvalidDatasetException(labelsPath, $"{labelShape[0]} labels for {imageShape[0]} images in {imagesPath}");
        var features = new float[pixels.Length];
        System.Numerics.Tensors.TensorPrimitives.ConvertTruncating<byte, float>(pixels, features);
        var labels = new int[labelBytes.Length];
        for (int i = 0; i < labels.Length; i++) labels[i] = labelBytes[i];
        return new Dataset(features, labels, new Shape(imageShape[1], imageShape[2]));
    }

    /// <summary>Loads the IDX pair <c>{prefix}-images-idx3-ubyte</c> and <c>{prefix}-labels-idx1-ubyte</c> (each optionally
    /// with <c>.gz</c>) from <paramref name="directory"/>: <c>train</c> or <c>t10k</c> for MNIST/Fashion-MNIST,
    /// <c>digits</c> for the sklearn digits conversion.</summary>
    /// <exception cref="InvalidDatasetException">A file is missing or malformed.</exception>
    public static Dataset LoadIdxSplit(string directory, string prefix, DatasetLoadOptions? options = null) =>
        LoadIdx(FindIdx(directory, $"{prefix}-images-idx3-ubyte"), FindIdx(directory, $"{prefix}-labels-idx1-ubyte"), options);

    /// <summary>Loads features and labels from two .npy files. The feature array is [n, …]; labels are [n] integers.</summary>
    /// <exception cref="InvalidDatasetException">A file is malformed, or the counts differ.</exception>
    public static Dataset LoadNpy(string featuresPath, string labelsPath, DatasetLoadOptions? options = null) =>
        FromArrays(NumpyFile.Read(featuresPath, options), featuresPath, NumpyFile.Read(labelsPath, options), labelsPath);

    /// <summary>Loads features and labels from two arrays of an .npz archive (default keys <c>x</c> and <c>y</c>).</summary>
    /// <exception cref="InvalidDatasetException">The archive is malformed, lacks a key, or the counts differ.</exception>
    public static Dataset LoadNpz(string path, string featuresKey = "x", string labelsKey = "y", DatasetLoadOptions? options = null)
    {
        var arrays = NumpyFile.ReadArchive(path, options);
        NumpyArray Get(string key) => arrays.TryGetValue(key, out var a) ? a
            : throw new InvalidDatasetException(path, $"no array '{key}' (the archive has: {string.Join(", ", arrays.Keys)})");
        return FromArrays(Get(featuresKey), $"{path}[{featuresKey}]", Get(labelsKey), $"{path}[{labelsKey}]");
    }

    /// <summary>Loads a numeric CSV file (plain or gzipped): every row the same number of columns, one of them the
    /// integer label.</summary>
    /// <exception cref="InvalidDatasetException">A value is not a number, a row is ragged, or a label is not a
    /// non-negative integer; the message names the line.</exception>
    public static Dataset LoadCsv(string path, CsvDatasetOptions? options = null)
    {
        options ??= CsvDatasetOptions.Default;
        using var stream = DataFile.Open(path, out _);
        using var reader = new StreamReader(stream);
        var features = new List<float>();
        var labels = new List<int>();
        int columns = -1, labelColumn = -1, lineNumber = 0;
        string? line;
        while ((line = ReadLine(reader, path)) is not null)
        {
            lineNumber++;
            if (lineNumber <= options.HeaderRows || line.Length == 0) continue;
            var fields = line.Split(options.Delimiter);
            if (columns < 0)
            {
                columns = fields.Length;
                labelColumn = options.LabelColumn < 0 ? columns + options.LabelColumn : options.LabelColumn;
                if (columns < 2 || labelColumn < 0 || labelColumn >= columns)
                    throw new InvalidDatasetException(path, $"line {lineNumber}: label column {options.LabelColumn} is outside the {columns} columns");
            }
            else if (fields.Length != columns)
                throw new InvalidDatasetException(path, $"line {lineNumber}: {fields.Length} columns where the first data row has {columns}");
            for (int c = 0; c < columns; c++)
            {
                if (!double.TryParse(fields[c], NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
                    throw new InvalidDatasetException(path, $"line {lineNumber}, column {c + 1}: '{fields[c]}' is not a number");
                if (c != labelColumn) features.Add((float)value);
                else if (value != Math.Floor(value) || value < 0 || value > int.MaxValue)
                    throw new InvalidDatasetException(path, $"line {lineNumber}, column {c + 1}: label '{fields[c]}' is not a non-negative integer");
                else labels.Add((int)value);
            }
        }
        if (columns < 0) throw new InvalidDatasetException(path, "no data rows");
        return new Dataset([.. features], [.. labels], new Shape(columns - 1));
    }

    private static string? ReadLine(StreamReader reader, string path)
    {
        try { return reader.ReadLine(); }
        catch (InvalidDataException e) { throw new InvalidDatasetException(path, "corrupt gzip data", e); }
    }

    private static Dataset FromArrays(NumpyArray x, string xSource, NumpyArray y, string ySource)
    {
        if (x.Shape.Rank < 1) throw new InvalidDatasetException(xSource, $"features must be [n, …], not {x.Shape}");
        if (y.Shape.Rank != 1) throw new InvalidDatasetException(ySource, $"labels must be one-dimensional, not {y.Shape}");
        if (y.Shape[0] != x.Shape[0]) throw new InvalidDatasetException(ySource, $"{y.Shape[0]} labels for {x.Shape[0]} samples in {xSource}");
        var labels = y.ToInt32Array(ySource);
        foreach (int label in labels)
            if (label < 0) throw new InvalidDatasetException(ySource, $"label {label} is negative");
        var sample = x.Shape.ToArray()[1..];
        return new Dataset(x.ToSingleArray(), labels, new Shape(sample));
    }

    private static string FindIdx(string directory, string stem)
    {
        foreach (string candidate in new[] { stem, stem + ".gz" })
        {
            string path = Path.Combine(directory, candidate);
            if (File.Exists(path)) return path;
        }
        throw new InvalidDatasetException(Path.Combine(directory, stem), "file not found (with or without .gz)");
    }
}
