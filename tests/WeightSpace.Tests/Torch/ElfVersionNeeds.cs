using System.Buffers.Binary;
using System.Text;

namespace WeightSpace.Tests.Torch;

/// <summary>Reads the .gnu.version_r section of an ELF64 file to tell whether a version need is weak.</summary>
internal static class ElfVersionNeeds
{
    /// <returns>True if weak, false if hard, null if the file does not need that version at all.</returns>
    public static bool? IsWeak(string path, string versionName)
    {
        byte[] b = File.ReadAllBytes(path);
        long shoff = BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(0x28));
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(0x3A));
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(0x3C));
        for (int i = 0; i < shnum; i++)
        {
            var sh = b.AsSpan((int)(shoff + i * shentsize));
            if (BinaryPrimitives.ReadUInt32LittleEndian(sh[4..]) != 0x6ffffffe) continue;
            long off = BinaryPrimitives.ReadInt64LittleEndian(sh[24..]);
            int link = (int)BinaryPrimitives.ReadUInt32LittleEndian(sh[40..]);
            int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(sh[44..]);
            long dynstr = BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan((int)(shoff + link * shentsize + 24)));
            long vn = off;
            for (int n = 0; n < count; n++)
            {
                int cnt = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)vn + 2));
                long aux = vn + BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)vn + 8));
                for (int a = 0; a < cnt; a++)
                {
                    int nameOff = (int)(dynstr + BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)aux + 8)));
                    int end = Array.IndexOf(b, (byte)0, nameOff);
                    if (Encoding.ASCII.GetString(b, nameOff, end - nameOff) == versionName)
                        return (BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)aux + 4)) & 2) != 0;
                    aux += BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)aux + 12));
                }
                vn += BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)vn + 12));
            }
        }
        return null;
    }
}
