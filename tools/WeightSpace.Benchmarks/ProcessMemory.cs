namespace WeightSpace.Benchmarks;

/// <summary>Reads this process's memory and I/O counters from /proc (Linux).</summary>
internal static class ProcessMemory
{
    /// <summary>Peak resident set size (VmHWM) in bytes, including file-backed mapped pages.</summary>
    public static long PeakResidentBytes() => ReadStatusKb("VmHWM:") * 1024;

    /// <summary>Current resident set size (VmRSS) in bytes.</summary>
    public static long ResidentBytes() => ReadStatusKb("VmRSS:") * 1024;

    /// <summary>Bytes this process has asked read()/pread() for (rchar), whatever the page cache served.</summary>
    public static long ReadCharBytes()
    {
        foreach (string line in File.ReadLines("/proc/self/io"))
            if (line.StartsWith("rchar:", StringComparison.Ordinal)) return long.Parse(line[6..].Trim());
        return -1;
    }

    private static long ReadStatusKb(string key)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return long.Parse(line[key.Length..].Trim().Split(' ')[0]);
        return -1;
    }
}
