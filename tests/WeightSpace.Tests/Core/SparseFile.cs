namespace WeightSpace.Tests.Core;

/// <summary>A sparse file of any length (set with <see cref="FileStream.SetLength"/>, so gigabytes cost no disk) with
/// a few known bytes written at chosen offsets; deleted on dispose.</summary>
internal sealed class SparseFile : IDisposable
{
    private readonly string _folder;

    public SparseFile(long length, params (long Offset, byte[] Bytes)[] writes)
    {
        _folder = SharedData.TempFolder();
        Path = System.IO.Path.Combine(_folder, "sparse.bin");
        using var stream = new FileStream(Path, FileMode.CreateNew, FileAccess.Write);
        stream.SetLength(length);
        foreach (var (offset, bytes) in writes)
        {
            stream.Position = offset;
            stream.Write(bytes);
        }
    }

    public string Path { get; }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { }   // a store a failed test left open; the temp folder is cleaned with the others
    }
}
