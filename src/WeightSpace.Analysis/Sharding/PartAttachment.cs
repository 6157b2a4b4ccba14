using System.Security.Cryptography;

namespace WeightSpace.Analysis.Sharding;

/// <summary>A file beside a part holding the shard's bulk results (a LoRA shard's factors), named by the part and
/// checked by its SHA-256, so a stale or truncated attachment is refused instead of combined.</summary>
/// <param name="FileName">The file's name, in the part's folder.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the file's bytes.</param>
public sealed record PartAttachment(string FileName, string Sha256)
{
    /// <summary>Hashes the file at <paramref name="path"/> and names it by its file name.</summary>
    public static PartAttachment Of(string path)
    {
        using var stream = File.OpenRead(path);
        return new PartAttachment(Path.GetFileName(path), Convert.ToHexStringLower(SHA256.HashData(stream)));
    }

    /// <summary>The attachment of the part at <paramref name="partPath"/>, checked against its hash.</summary>
    /// <exception cref="InvalidPartException">The file is missing or its bytes are not the ones the part names.</exception>
    public string Verify(string partPath)
    {
        string full = PartFile.AttachmentPath(partPath, this);
        if (!File.Exists(full)) throw new InvalidPartException(partPath, $"its attachment {full} is missing");
        string actual;
        using (var stream = File.OpenRead(full)) actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        if (actual != Sha256) throw new InvalidPartException(partPath, $"its attachment {full} has sha256 {actual[..16]}…, the part names {Sha256[..16]}… (stale or damaged)");
        return full;
    }
}
