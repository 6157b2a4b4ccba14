namespace WeightSpace.Analysis.RankProfile;

/// <summary>How <see cref="LowRankCompression"/> chooses each matrix's rank: <c>energy:F</c> (the rank holding a
/// fraction F of Σσ²), <c>suggested</c> (<see cref="MatrixRanks.SuggestedRank"/>), <c>rank:N</c> (N, at most the
/// full rank), or a JSON file naming the rank of each tensor to compress.</summary>
public sealed class RankSelection
{
    /// <summary>Largest rank-profile file accepted, in bytes.</summary>
    public const long MaxFileBytes = 16 << 20;

    private readonly Func<MatrixRanks, int>? _rule;

    private RankSelection(string text, Func<MatrixRanks, int>? rule, IReadOnlyDictionary<string, int>? explicitRanks)
    {
        Text = text;
        _rule = rule;
        ExplicitRanks = explicitRanks;
    }

    /// <summary>The spec as given.</summary>
    public string Text { get; }

    /// <summary>The tensors and ranks a file names, or null for a rule.</summary>
    public IReadOnlyDictionary<string, int>? ExplicitRanks { get; }

    /// <summary>The rank for <paramref name="ranks"/>' matrix (at least 1 unless the matrix is zero).</summary>
    public int RankOf(MatrixRanks ranks)
    {
        ArgumentNullException.ThrowIfNull(ranks);
        int r = _rule is not null ? _rule(ranks) : ExplicitRanks![ranks.Name];
        return Math.Clamp(r, Math.Min(1, ranks.FullRank), ranks.FullRank);
    }

    /// <summary>Parses <c>energy:F</c>, <c>suggested</c>, <c>rank:N</c> or a path to a JSON file.</summary>
    /// <param name="spec">The text of <c>--rank-profile</c>.</param>
    /// <param name="option">The option name, for errors.</param>
    /// <exception cref="InvalidRankProfileException">The spec or the file is malformed.</exception>
    public static RankSelection Parse(string spec, string option = "--rank-profile")
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec == "suggested") return new RankSelection(spec, r => r.SuggestedRank, null);
        if (spec.StartsWith("energy:", StringComparison.Ordinal))
        {
            if (!double.TryParse(spec.AsSpan(7), NumberStyles.Float, CultureInfo.InvariantCulture, out double f) || !(f > 0 && f <= 1))
                throw new InvalidRankProfileException(option, $"'{spec}': the energy fraction must be a number in (0, 1], e.g. energy:0.95");
            return new RankSelection(spec, r => r.RankAtEnergy(f), null);
        }
        if (spec.StartsWith("rank:", StringComparison.Ordinal))
        {
            if (!int.TryParse(spec.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1)
                throw new InvalidRankProfileException(option, $"'{spec}': the rank must be a positive integer, e.g. rank:64");
            return new RankSelection(spec, r => n, null);
        }
        if (!File.Exists(spec))
            throw new InvalidRankProfileException(option, $"'{spec}' is neither energy:F, suggested, rank:N nor an existing JSON file");
        return new RankSelection(spec, null, ReadFile(spec));
    }

    /// <summary>A JSON object of tensor name → rank, at the top level or under <c>"ranks"</c> (what
    /// <c>weightspace ranks --json</c> writes as <c>suggested_ranks</c> can be copied into it).</summary>
    private static Dictionary<string, int> ReadFile(string path)
    {
        long length = new FileInfo(path).Length;
        if (length > MaxFileBytes) throw new InvalidRankProfileException(path, $"has {length} bytes, more than the {MaxFileBytes} accepted");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 8 }); }
        catch (JsonException e) { throw new InvalidRankProfileException(path, $"is not valid JSON: {e.Message}"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("ranks", out var inner)) root = inner;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidRankProfileException(path, "must be a JSON object of tensor name → rank (or {\"ranks\": {…}})");
            var ranks = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var p in root.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int r) || r < 1)
                    throw new InvalidRankProfileException(path, $"tensor '{p.Name}': rank {Truncate(p.Value.GetRawText())} is not a positive integer");
                if (!ranks.TryAdd(p.Name, r)) throw new InvalidRankProfileException(path, $"tensor '{p.Name}' is listed twice");
            }
            if (ranks.Count == 0) throw new InvalidRankProfileException(path, "names no tensor");
            return ranks;
        }
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
