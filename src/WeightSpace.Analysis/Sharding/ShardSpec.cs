namespace WeightSpace.Analysis.Sharding;

/// <summary>One shard of a per-tensor analysis split <see cref="Count"/> ways: <c>--shard I/N</c> with I from 1 to N,
/// as a user (and a Slurm job array, <c>$((SLURM_ARRAY_TASK_ID + 1))/N</c>) types it.</summary>
public readonly record struct ShardSpec
{
    /// <summary>Creates shard <paramref name="number"/> of <paramref name="count"/> (1-based).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not 1 ≤ number ≤ count.</exception>
    public ShardSpec(int number, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(number, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(number, count);
        Number = number;
        Count = count;
    }

    /// <summary>The shard's number, 1 to <see cref="Count"/>.</summary>
    public int Number { get; }

    /// <summary>How many shards the work is split into.</summary>
    public int Count { get; }

    /// <summary>The 0-based index (<see cref="Number"/> − 1).</summary>
    public int Index => Number - 1;

    /// <summary>The whole work as one shard.</summary>
    public static ShardSpec Whole { get; } = new(1, 1);

    /// <summary>Largest shard count accepted: far more than any job array needs, small enough that a typo is caught.</summary>
    public const int MaxCount = 100_000;

    /// <summary>Parses <c>I/N</c>.</summary>
    /// <exception cref="FormatException">Not of the form I/N with 1 ≤ I ≤ N ≤ <see cref="MaxCount"/>; the message
    /// says which number is wrong.</exception>
    public static ShardSpec Parse(string text)
    {
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || !int.TryParse(text.AsSpan(0, slash), NumberStyles.None, CultureInfo.InvariantCulture, out int number)
            || !int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int count))
            throw new FormatException($"'{text}' is not I/N (for example 3/8)");
        if (count is < 1 or > MaxCount) throw new FormatException($"'{text}': the shard count {count} must be 1 to {MaxCount}");
        if (number < 1 || number > count) throw new FormatException($"'{text}': the shard number {number} is out of range 1..{count}");
        return new ShardSpec(number, count);
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Number}/{Count}");
}
