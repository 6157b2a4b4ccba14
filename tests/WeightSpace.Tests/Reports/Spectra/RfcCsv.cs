using System.Text;

namespace WeightSpace.Tests.Reports.Spectra;

/// <summary>A strict RFC 4180 reader for tests, written from the RFC's grammar rather than from the writer.</summary>
internal static class RfcCsv
{
    public static List<List<string>> Parse(string text)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var field = new StringBuilder();
        int i = 0;
        while (i < text.Length)
        {
            if (text[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= text.Length) throw new FormatException("unterminated quoted field");
                    if (text[i] == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i += 2; continue; }
                        i++;
                        break;
                    }
                    field.Append(text[i++]);
                }
            }
            else
            {
                while (i < text.Length && text[i] is not (',' or '\r' or '\n'))
                {
                    if (text[i] == '"') throw new FormatException($"quote inside an unquoted field at {i}");
                    field.Append(text[i++]);
                }
            }
            row.Add(field.ToString());
            field.Clear();
            if (i >= text.Length) throw new FormatException("last record lacks CRLF");
            if (text[i] == ',') { i++; continue; }
            if (text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n') { i += 2; rows.Add(row); row = []; continue; }
            throw new FormatException($"bare line break at {i}");
        }
        return rows;
    }
}
