using System.Buffers.Binary;
using System.Text;

namespace WeightSpace.Tests.Formats.PyTorch;

/// <summary>Writes pickle opcodes by hand, so hostile tests can build exactly the stream they need.</summary>
internal sealed class PickleBuilder
{
    private readonly List<byte> _bytes = [];

    public byte[] ToArray() => [.. _bytes];

    public PickleBuilder Op(params byte[] bytes) { _bytes.AddRange(bytes); return this; }
    public PickleBuilder Proto(int protocol) => Op(0x80, (byte)protocol);
    public PickleBuilder Stop() => Op(0x2e);
    public PickleBuilder Mark() => Op(0x28);
    public PickleBuilder Tuple() => Op(0x74);
    public PickleBuilder Reduce() => Op(0x52);
    public PickleBuilder SetItem() => Op(0x73);
    public PickleBuilder NewFalse() => Op(0x89);
    public PickleBuilder EmptyList() => Op(0x5d);
    public PickleBuilder Append() => Op(0x61);
    public PickleBuilder BinPersId() => Op(0x51);

    public PickleBuilder Global(string module, string name)
    {
        _bytes.Add(0x63);
        _bytes.AddRange(Encoding.ASCII.GetBytes(module + "\n" + name + "\n"));
        return this;
    }

    public PickleBuilder Unicode(string text)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        var len = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)utf8.Length);
        return Op(0x58).Op(len).Op(utf8);
    }

    /// <summary>BININT for 32-bit values, LONG1 otherwise.</summary>
    public PickleBuilder Int(long value)
    {
        if (value is >= int.MinValue and <= int.MaxValue)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, (int)value);
            return Op(0x4a).Op(b);
        }
        var l = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(l, value);
        return Op(0x8a, 8).Op(l);
    }

    public PickleBuilder IntTuple(long[] values)
    {
        Mark();
        foreach (long v in values) Int(v);
        return Tuple();
    }

    public PickleBuilder OrderedDict() => Global("collections", "OrderedDict").Op(0x29).Reduce();

    /// <summary>Pushes <c>_rebuild_tensor_v2(storage, offset, shape, stride, False, OrderedDict())</c> for a zip-style persistent id.</summary>
    public PickleBuilder Tensor(string storageType, string key, long numel, long offset, long[] shape, long[] stride)
    {
        Global("torch._utils", "_rebuild_tensor_v2").Mark();
        Mark().Unicode("storage").Global("torch", storageType).Unicode(key).Unicode("cpu").Int(numel).Tuple().BinPersId();
        Int(offset).IntTuple(shape).IntTuple(stride).NewFalse().OrderedDict();
        return Tuple().Reduce();
    }
}

/// <summary>A tensor for <see cref="TorchFiles.StateDict"/>: one float32 storage per tensor unless keys repeat.</summary>
internal sealed record TensorSpec(string Name, string Key, long Numel, long Offset, long[] Shape, long[] Stride, string StorageType = "FloatStorage");

/// <summary>Builds small torch.save-shaped zip files for hostile tests.</summary>
internal static class TorchFiles
{
    public static byte[] StateDictPickle(IEnumerable<TensorSpec> tensors)
    {
        var p = new PickleBuilder().Proto(2).OrderedDict();
        foreach (var t in tensors) p.Unicode(t.Name).Tensor(t.StorageType, t.Key, t.Numel, t.Offset, t.Shape, t.Stride).SetItem();
        return p.Stop().ToArray();
    }

    /// <summary>A zip with <c>archive/data.pkl</c> and float32 storages 0, 1, 2, … whose elements are 0, 1, 2, ….</summary>
    public static byte[] StateDictZip(IReadOnlyList<TensorSpec> tensors, IReadOnlyDictionary<string, int> storageElements, ushort storageMethod = 0, bool zip64 = false)
    {
        var entries = new List<ZipBuilder.Entry> { new("archive/data.pkl", StateDictPickle(tensors)) };
        foreach (var (key, n) in storageElements)
        {
            var data = new byte[n * 4];
            for (int i = 0; i < n; i++) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * 4), i);
            entries.Add(new($"archive/data/{key}", data, storageMethod));
        }
        entries.Add(new("archive/version", "3\n"u8.ToArray()));
        return ZipBuilder.Build(entries, zip64);
    }
}

/// <summary>A minimal zip writer (CRCs are left 0: the reader never checks them, and nothing here decompresses).</summary>
internal static class ZipBuilder
{
    public sealed record Entry(string Name, byte[] Data, ushort Method = 0);

    /// <summary>Writes local headers padded so data starts on 64 bytes (as torch does), then the central directory.
    /// With <paramref name="zip64"/>, sizes and offsets in the central directory are 0xFFFFFFFF with a ZIP64 extra
    /// field, and a ZIP64 end record and locator precede the end record.</summary>
    public static byte[] Build(IReadOnlyList<Entry> entries, bool zip64 = false)
    {
        var o = new MemoryStream();
        var w = new BinaryWriter(o);
        var offsets = new List<long>();
        foreach (var e in entries)
        {
            offsets.Add(o.Position);
            byte[] name = Encoding.UTF8.GetBytes(e.Name);
            long dataStart = o.Position + 30 + name.Length + 4;
            int pad = (int)((64 - dataStart % 64) % 64);
            w.Write(0x04034b50u); w.Write((ushort)20); w.Write((ushort)0); w.Write(e.Method); w.Write(0u); w.Write(0u);
            w.Write((uint)e.Data.Length); w.Write((uint)e.Data.Length);
            w.Write((ushort)name.Length); w.Write((ushort)(4 + pad));
            w.Write(name);
            w.Write((ushort)0xCAFE); w.Write((ushort)pad); w.Write(new byte[pad]);
            w.Write(e.Data);
        }
        long cdStart = o.Position;
        for (int i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            byte[] name = Encoding.UTF8.GetBytes(e.Name);
            w.Write(0x02014b50u); w.Write((ushort)45); w.Write((ushort)45); w.Write((ushort)0); w.Write(e.Method); w.Write(0u); w.Write(0u);
            w.Write(zip64 ? 0xFFFFFFFFu : (uint)e.Data.Length); w.Write(zip64 ? 0xFFFFFFFFu : (uint)e.Data.Length);
            w.Write((ushort)name.Length); w.Write((ushort)(zip64 ? 28 : 0)); w.Write((ushort)0);
            w.Write((ushort)0); w.Write((ushort)0); w.Write(0u);
            w.Write(zip64 ? 0xFFFFFFFFu : (uint)offsets[i]);
            w.Write(name);
            if (zip64) { w.Write((ushort)1); w.Write((ushort)24); w.Write((ulong)e.Data.Length); w.Write((ulong)e.Data.Length); w.Write((ulong)offsets[i]); }
        }
        long cdSize = o.Position - cdStart;
        if (zip64)
        {
            long z = o.Position;
            w.Write(0x06064b50u); w.Write(44UL); w.Write((ushort)45); w.Write((ushort)45); w.Write(0u); w.Write(0u);
            w.Write((ulong)entries.Count); w.Write((ulong)entries.Count); w.Write((ulong)cdSize); w.Write((ulong)cdStart);
            w.Write(0x07064b50u); w.Write(0u); w.Write((ulong)z); w.Write(1u);
        }
        w.Write(0x06054b50u); w.Write((ushort)0); w.Write((ushort)0);
        w.Write(zip64 ? (ushort)0xFFFF : (ushort)entries.Count); w.Write(zip64 ? (ushort)0xFFFF : (ushort)entries.Count);
        w.Write(zip64 ? 0xFFFFFFFFu : (uint)cdSize); w.Write(zip64 ? 0xFFFFFFFFu : (uint)cdStart); w.Write((ushort)0);
        w.Flush();
        return o.ToArray();
    }
}
