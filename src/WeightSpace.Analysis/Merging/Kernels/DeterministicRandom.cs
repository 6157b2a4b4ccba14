namespace WeightSpace.Analysis.Merging.Kernels;

/// <summary>xoshiro256** (Blackman &amp; Vigna 2018) seeded through SplitMix64: the same numbers on every run, platform and
/// thread schedule, which <see cref="System.Random"/> does not promise across .NET versions.</summary>
internal struct DeterministicRandom
{
    private ulong _s0, _s1, _s2, _s3;

    public DeterministicRandom(ulong seed)
    {
        _s0 = SplitMix(ref seed);
        _s1 = SplitMix(ref seed);
        _s2 = SplitMix(ref seed);
        _s3 = SplitMix(ref seed);
    }

    /// <summary>A stream for (seed, tensor, model): independent of which worker processes the tensor.</summary>
    public static DeterministicRandom For(ulong tensorSeed, int model) =>
        new(tensorSeed ^ (0x9E3779B97F4A7C15UL * (ulong)(model + 1)));

    /// <summary>Mixes the run seed with a stable 64-bit FNV-1a hash of the tensor name (string.GetHashCode is randomised per process).</summary>
    public static ulong TensorSeed(ulong seed, string tensorName)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (byte b in Encoding.UTF8.GetBytes(tensorName))
        {
            h ^= b;
            h *= 0x100000001B3UL;
        }
        ulong s = seed ^ h;
        return SplitMix(ref s);
    }

    public ulong NextUInt64()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    private static ulong SplitMix(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
