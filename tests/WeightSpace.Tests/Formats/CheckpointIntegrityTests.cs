using System.IO.Compression;
using System.Text.Json;
using WeightSpace.Formats;
using WeightSpace.Formats.Integrity;
using WeightSpace.Tests.Cli;

namespace WeightSpace.Tests.Formats;

/// <summary>CRC-32 verification of torch.save archives, against System.IO.Compression's own reading of the same zips.</summary>
public sealed class CheckpointIntegrityTests
{
    private static readonly string[] ZipFixtures =
    [
        "torch/mlp_state_dict.pt", "torch/checkpoint_protocol4.pt", "torch/cnn_state_dict.pth", "torch/dtypes_zip.pt",
        "torch/nested_metadata.pt", "torch/mlp_parameters_keep_vars.bin", "torch/tied_weights.pt", "torch/shared_storage_zip.pt",
        "digits_mlp/mlp_seed0.pt",
    ];

    [Fact]
    public void Verify_RealTorchSaveFiles_ChecksEveryRecordAndFindsNoMismatch()
    {
        foreach (string relative in ZipFixtures)
        {
            string path = SharedData.Require(relative);
            var report = CheckpointIntegrity.Verify(path, TestContext.Current.CancellationToken);
            using var zip = ZipFile.OpenRead(path);
            Assert.True(report.HasChecksums, relative);
            Assert.True(report.Ok, $"{relative}: {string.Join(", ", report.Mismatches)}");
            Assert.Equal(zip.Entries.Count, report.Checked);
            Assert.Equal(zip.Entries.Sum(e => e.Length), report.Bytes);
        }
    }

    [Fact]
    public void Verify_OneFlippedByteInATensorRecord_NamesThatRecordOnly()
    {
        string source = SharedData.Require("digits_mlp/mlp_seed0.pt");
        string copy = Path.Combine(SharedData.TempFolder(), "damaged.pt");
        File.Copy(source, copy);
        string victim;
        long offset;
        using (var zip = ZipFile.OpenRead(copy))
        {
            // The largest record is fc1.weight's storage; flip a byte in the middle of its data.
            var entry = zip.Entries.OrderByDescending(e => e.Length).First();
            victim = entry.FullName;
            offset = DataOffset(copy, entry) + entry.Length / 2;
        }
        var bytes = File.ReadAllBytes(copy);
        bytes[offset] ^= 0x10;
        File.WriteAllBytes(copy, bytes);

        var report = CheckpointIntegrity.Verify(copy, TestContext.Current.CancellationToken);
        var mismatch = Assert.Single(report.Mismatches);
        Assert.Equal(victim, mismatch.Entry);
        Assert.NotEqual(mismatch.Expected, mismatch.Actual);
        using var zip2 = ZipFile.OpenRead(copy);
        Assert.Equal(zip2.GetEntry(victim)!.Crc32, mismatch.Expected);
        // Opening does not read the records, so the damage is only visible to --verify.
        using var store = Checkpoint.Open(copy);
        Assert.Equal(6, store.Tensors.Count);

        var cli = CliRunner.Run("inspect", copy, "--verify");
        Assert.Equal(1, cli.ExitCode);
        Assert.Contains(victim, cli.Stderr);
        Assert.Contains("CRC-32", cli.Stderr);
        var json = CliRunner.Run("inspect", copy, "--verify", "--json");
        Assert.Equal(1, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Stdout);
        var integrity = doc.RootElement.GetProperty("integrity");
        Assert.False(integrity.GetProperty("ok").GetBoolean());
        Assert.Equal(victim, integrity.GetProperty("mismatches")[0].GetProperty("entry").GetString());
    }

    [Fact]
    public void Verify_DeflatedRecords_AreInflatedAndChecked()
    {
        // torch.save stores records uncompressed, but a re-zipped checkpoint may deflate them: same CRCs, other bytes.
        string source = SharedData.Require("torch/mlp_state_dict.pt");
        string rezipped = Deflated(source);
        var report = CheckpointIntegrity.Verify(rezipped, TestContext.Current.CancellationToken);
        Assert.True(report.HasChecksums);
        Assert.True(report.Ok, string.Join(", ", report.Mismatches));
        using var zip = ZipFile.OpenRead(rezipped);
        Assert.Equal(zip.Entries.Sum(e => e.Length), report.Bytes);
    }

    [Fact]
    public void Verify_CorruptDeflateData_IsAMismatchOrATypedErrorNeverACrash()
    {
        // Damage the compressed bytes of every deflated record in turn, at several places: inflating must end in a CRC
        // mismatch or an InvalidCheckpointException naming the record, and inflating past the declared size must stop.
        string source = SharedData.Require("torch/mlp_state_dict.pt");
        string rezipped = Deflated(source);
        var original = File.ReadAllBytes(rezipped);
        var entries = new List<(string Name, long Offset, long Length)>();
        using (var zip = ZipFile.OpenRead(rezipped))
            foreach (var e in zip.Entries.Where(e => e.CompressedLength > 16))
                entries.Add((e.FullName, DataOffset(rezipped, e), e.CompressedLength));
        Assert.NotEmpty(entries);
        string damaged = Path.Combine(SharedData.TempFolder(), "damaged-deflate.pt");
        int outcomes = 0;
        foreach (var (name, offset, length) in entries)
            foreach (double at in new[] { 0.0, 0.3, 0.7 })
            {
                var bytes = (byte[])original.Clone();
                long position = offset + (long)(at * (length - 1));
                bytes[position] ^= 0xA5;
                File.WriteAllBytes(damaged, bytes);
                try
                {
                    var report = CheckpointIntegrity.Verify(damaged, TestContext.Current.CancellationToken);
                    Assert.Contains(report.Mismatches, m => m.Entry == name);
                }
                catch (InvalidCheckpointException e)
                {
                    Assert.Contains(name, e.Message);
                }
                outcomes++;
            }
        Assert.Equal(entries.Count * 3, outcomes);
    }

    [Fact]
    public void Verify_FormatsWithoutChecksums_SaySoAndCheckNothing()
    {
        foreach (string relative in new[] { "digits_mlp/mlp_seed0.safetensors", "torch/mlp_state_dict_legacy.pth" })
        {
            var report = CheckpointIntegrity.Verify(SharedData.Require(relative), TestContext.Current.CancellationToken);
            Assert.False(report.HasChecksums, relative);
            Assert.Equal(0, report.Checked);
            Assert.True(report.Ok);
        }
        var cli = CliRunner.Run("inspect", SharedData.Require("digits_mlp/mlp_seed0.safetensors"), "--verify");
        Assert.Equal(0, cli.ExitCode);
        Assert.Contains("checksums: none in this format (safetensors)", cli.Stdout);
    }

    // The same archive with every record deflated (a checkpoint re-zipped by a tool other than torch.save).
    private static string Deflated(string source)
    {
        string rezipped = Path.Combine(SharedData.TempFolder(), "deflated.pt");
        using var input = ZipFile.OpenRead(source);
        using var output = ZipFile.Open(rezipped, ZipArchiveMode.Create);
        foreach (var e in input.Entries)
        {
            using var from = e.Open();
            using var to = output.CreateEntry(e.FullName, CompressionLevel.Optimal).Open();
            from.CopyTo(to);
        }
        return rezipped;
    }

    // Data offset of a stored entry from its local header (30 bytes + name + extra), as the zip specification gives it.
    private static long DataOffset(string path, ZipArchiveEntry entry)
    {
        var all = File.ReadAllBytes(path);
        byte[] name = System.Text.Encoding.UTF8.GetBytes(entry.FullName);
        for (int i = 0; i + 30 + name.Length <= all.Length; i++)
        {
            if (all[i] != 0x50 || all[i + 1] != 0x4B || all[i + 2] != 3 || all[i + 3] != 4) continue;
            int nameLength = all[i + 26] | all[i + 27] << 8, extraLength = all[i + 28] | all[i + 29] << 8;
            if (nameLength == name.Length && all.AsSpan(i + 30, nameLength).SequenceEqual(name)) return i + 30 + nameLength + extraLength;
        }
        throw new InvalidOperationException($"no local header for {entry.FullName}");
    }
}
