using System.Text;

namespace WeightSpace.Tests.Analysis.Datasets;

/// <summary>Writes .npy bytes exactly as numpy.lib.format does (header padded with spaces to a multiple of 64, ending
/// in a newline), so tests do not need NumPy installed.</summary>
internal static class NpyBytes
{
    public static byte[] Build(string descr, string shape, byte[] data, int major = 1, bool fortran = false)
    {
        string dict = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': {shape}, }}";
        int prefix = major == 1 ? 10 : 12;
        int total = prefix + dict.Length + 1;
        int padded = (total + 63) / 64 * 64;
        string header = dict + new string(' ', padded - total) + "\n";
        using var ms = new MemoryStream();
        ms.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0]);
        if (major == 1) ms.Write(BitConverter.GetBytes((ushort)header.Length));
        else ms.Write(BitConverter.GetBytes((uint)header.Length));
        ms.Write(Encoding.Latin1.GetBytes(header));
        ms.Write(data);
        return ms.ToArray();
    }

    public static byte[] Floats(params float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();
    public static byte[] Doubles(params double[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();
    public static byte[] Longs(params long[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();
    public static byte[] Ints(params int[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();
}
