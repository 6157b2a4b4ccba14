namespace WeightSpace.Reports.Spectra;

/// <summary>Writes a file through a sibling temp file and a rename, so a reader never sees a half-written report and
/// an existing file is replaced only once the new one is complete.</summary>
internal static class AtomicFile
{
    /// <param name="path">Final path.</param>
    /// <param name="write">Writes the content to the path it is given (a temp file with the same extension, since
    /// some writers choose the format by extension).</param>
    public static void Write(string path, Action<string> write)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        string temp = Path.Combine(dir, $".{Path.GetFileNameWithoutExtension(full)}.{Guid.NewGuid():N}.tmp{Path.GetExtension(full)}");
        try
        {
            write(temp);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public static void Write(string path, Action<Stream> write) =>
        Write(path, temp =>
        {
            using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
            write(stream);
        });
}
