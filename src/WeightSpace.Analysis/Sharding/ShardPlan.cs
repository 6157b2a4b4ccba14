namespace WeightSpace.Analysis.Sharding;

/// <summary>A deterministic split of named work items (tensors) into shards of balanced estimated cost.</summary>
/// <remarks>Longest-processing-time-first: items sorted by cost (descending, then name, ordinal), each given to the
/// shard with the smallest load so far (lowest index on ties). The result depends only on the names, costs and count,
/// so every task of a job array computes the same plan without talking to the others; LPT's makespan is within 4/3 of
/// the optimum (Graham 1969).</remarks>
public sealed class ShardPlan
{
    private readonly Dictionary<string, int> _shardOf;

    private ShardPlan(int count, Dictionary<string, int> shardOf, double[] loads)
    {
        Count = count;
        _shardOf = shardOf;
        Loads = loads;
    }

    /// <summary>How many shards.</summary>
    public int Count { get; }

    /// <summary>The estimated cost given to each shard (0-based index).</summary>
    public IReadOnlyList<double> Loads { get; }

    /// <summary>Splits <paramref name="items"/> (name, estimated cost ≥ 0) into <paramref name="count"/> shards.</summary>
    /// <exception cref="ArgumentException">A name appears twice, or a cost is negative or not finite.</exception>
    public static ShardPlan Create(IEnumerable<(string Name, double Cost)> items, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var list = items.ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, cost) in list)
        {
            if (!seen.Add(name)) throw new ArgumentException($"work item '{name}' appears twice", nameof(items));
            if (!double.IsFinite(cost) || cost < 0) throw new ArgumentException($"work item '{name}' has cost {cost}", nameof(items));
        }
        list.Sort((a, b) => b.Cost != a.Cost ? b.Cost.CompareTo(a.Cost) : string.CompareOrdinal(a.Name, b.Name));
        var loads = new double[count];
        var counts = new int[count];
        var shardOf = new Dictionary<string, int>(list.Count, StringComparer.Ordinal);
        foreach (var (name, cost) in list)
        {
            // Least loaded first; among equal loads the one with fewer items, so zero-cost items spread too.
            int best = 0;
            for (int s = 1; s < count; s++)
                if (loads[s] < loads[best] || (loads[s] == loads[best] && counts[s] < counts[best])) best = s;
            loads[best] += cost;
            counts[best]++;
            shardOf[name] = best;
        }
        return new ShardPlan(count, shardOf, loads);
    }

    /// <summary>True if <paramref name="name"/> belongs to <paramref name="shard"/>.</summary>
    /// <exception cref="KeyNotFoundException"><paramref name="name"/> was not in the plan.</exception>
    public bool Contains(ShardSpec shard, string name)
    {
        if (shard.Count != Count) throw new ArgumentException($"shard {shard} does not belong to a plan of {Count} shards", nameof(shard));
        return _shardOf[name] == shard.Index;
    }

    /// <summary>The 0-based shard that <paramref name="name"/> was given to.</summary>
    public int ShardOf(string name) => _shardOf[name];
}
