using System.Net;
using System.Reflection;

namespace WeightSpace.Reports.Html;

/// <summary>A self-contained HTML report: a summary of headline findings, then one section per analysis with its
/// plots (inline SVG), sortable tables and the command line that produced it. No network: CSS and the few lines of
/// sorting script are inline. <see cref="Write"/> also writes the same data as JSON and one CSV per table beside it.</summary>
public sealed class HtmlReport
{
    /// <summary>Creates an empty report.</summary>
    public HtmlReport(string title) => Title = title;

    /// <summary>Page title and heading.</summary>
    public string Title { get; }
    /// <summary>What was analysed, in one line (shown under the title).</summary>
    public string? Subtitle { get; set; }
    /// <summary>The command line that produced the whole report.</summary>
    public string? CommandLine { get; set; }
    /// <summary>Headline findings, shown first.</summary>
    public List<ReportFinding> Findings { get; } = [];
    /// <summary>Sections, in order.</summary>
    public List<ReportSection> Sections { get; } = [];

    /// <summary>The WeightSpace version that wrote the report.</summary>
    public static string ToolVersion =>
        typeof(HtmlReport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown";

    /// <summary>Writes <paramref name="htmlPath"/>, plus <c>stem.json</c> and <c>stem.SECTION.TABLE.csv</c> beside it,
    /// each atomically. Returns the paths written.</summary>
    public IReadOnlyList<string> Write(string htmlPath)
    {
        string full = Path.GetFullPath(htmlPath);
        string stem = Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileNameWithoutExtension(full));
        var written = new List<string>();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        AtomicFile.WriteAllText(full, RenderHtml(now));
        written.Add(full);
        AtomicFile.Write(stem + ".json", s => WriteJson(s, now));
        written.Add(stem + ".json");
        foreach (var section in Sections)
            foreach (var table in section.Tables)
            {
                string csv = $"{stem}.{section.Id}.{table.Id}.csv";
                AtomicFile.WriteAllText(csv, CsvWriter.Format(table.Columns, table.Rows));
                written.Add(csv);
            }
        return written;
    }

    /// <summary>The HTML page as a string.</summary>
    public string RenderHtml(DateTimeOffset generated)
    {
        var h = new StringBuilder(1 << 16);
        h.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        h.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        h.Append("<title>").Append(E(Title)).Append("</title><style>").Append(Css).Append("</style></head><body>\n");
        h.Append("<header><h1>").Append(E(Title)).Append("</h1>");
        if (Subtitle is not null) h.Append("<p class=\"subtitle\">").Append(E(Subtitle)).Append("</p>");
        h.Append("<p class=\"meta\">WeightSpace ").Append(E(ToolVersion)).Append(" · generated ")
            .Append(generated.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)).Append("</p>");
        if (CommandLine is not null) h.Append("<pre class=\"cmd\">$ ").Append(E(CommandLine)).Append("</pre>");
        h.Append("</header>\n<main>\n");

        h.Append("<section id=\"summary\" class=\"summary\"><h2>Summary</h2><ul class=\"findings\">");
        foreach (var f in Findings)
        {
            h.Append("<li class=\"").Append(f.Level.ToString().ToLowerInvariant()).Append("\">");
            if (f.SectionId is not null) h.Append("<a href=\"#").Append(E(f.SectionId)).Append("\">").Append(E(f.Text)).Append("</a>");
            else h.Append(E(f.Text));
            h.Append("</li>");
        }
        h.Append("</ul>");
        if (Sections.Count > 0)
        {
            h.Append("<nav><strong>Sections:</strong> ");
            h.AppendJoin(" · ", Sections.Select(s => $"<a href=\"#{E(s.Id)}\">{E(s.Title)}</a>"));
            h.Append("</nav>");
        }
        h.Append("</section>\n");

        foreach (var s in Sections)
        {
            h.Append("<section id=\"").Append(E(s.Id)).Append("\" class=\"analysis\"><h2>").Append(E(s.Title)).Append("</h2>");
            if (s.Description is not null) h.Append("<p>").Append(E(s.Description)).Append("</p>");
            if (s.CommandLine is not null) h.Append("<pre class=\"cmd\">$ ").Append(E(s.CommandLine)).Append("</pre>");
            if (s.Figures.Count > 0)
            {
                h.Append("<div class=\"figures\">");
                foreach (var f in s.Figures)
                {
                    h.Append("<figure id=\"").Append(E(s.Id)).Append('-').Append(E(f.Id)).Append("\">");
                    h.Append(InlineSvg(f.Svg));
                    h.Append("<figcaption>").Append(E(f.Caption)).Append("</figcaption></figure>");
                }
                h.Append("</div>");
            }
            foreach (var t in s.Tables) RenderTable(h, s, t);
            if (s.Notes.Count > 0)
            {
                h.Append("<ul class=\"notes\">");
                foreach (var n in s.Notes) h.Append("<li>").Append(E(n)).Append("</li>");
                h.Append("</ul>");
            }
            h.Append("</section>\n");
        }
        h.Append("</main><footer>Written by WeightSpace ").Append(E(ToolVersion))
            .Append(". The data behind every table is in the .json and .csv files next to this page.</footer>");
        h.Append("<script>").Append(SortScript).Append("</script></body></html>\n");
        return h.ToString();
    }

    private static void RenderTable(StringBuilder h, ReportSection s, ReportTable t)
    {
        h.Append("<h3 id=\"").Append(E(s.Id)).Append('-').Append(E(t.Id)).Append("\">").Append(E(t.Title))
            .Append(" <span class=\"rows\">(").Append(t.Rows.Count).Append(" rows)</span></h3>");
        h.Append("<div class=\"table-wrap\"><table class=\"sortable\"><thead><tr>");
        foreach (string c in t.Columns) h.Append("<th title=\"click to sort\">").Append(E(c)).Append("</th>");
        h.Append("</tr></thead><tbody>");
        foreach (var row in t.Rows)
        {
            h.Append("<tr>");
            foreach (var cell in row)
            {
                switch (cell)
                {
                    case null: h.Append("<td class=\"na\">–</td>"); break;
                    case string str: h.Append("<td>").Append(E(str)).Append("</td>"); break;
                    case bool b: h.Append("<td>").Append(b ? "yes" : "no").Append("</td>"); break;
                    case long or int:
                        long l = Convert.ToInt64(cell, CultureInfo.InvariantCulture);
                        h.Append("<td class=\"num\" data-v=\"").Append(l.ToString(CultureInfo.InvariantCulture)).Append("\">")
                            .Append(l.ToString("N0", CultureInfo.InvariantCulture)).Append("</td>");
                        break;
                    default:
                        double d = Convert.ToDouble(cell, CultureInfo.InvariantCulture);
                        if (!double.IsFinite(d)) { h.Append("<td class=\"num na\">").Append(E(d.ToString(CultureInfo.InvariantCulture))).Append("</td>"); break; }
                        h.Append("<td class=\"num\" data-v=\"").Append(d.ToString("R", CultureInfo.InvariantCulture)).Append("\">")
                            .Append(E(FormatNumber(d))).Append("</td>");
                        break;
                }
            }
            h.Append("</tr>");
        }
        h.Append("</tbody></table></div>");
    }

    /// <summary>Four significant digits, without exponent for everyday magnitudes.</summary>
    internal static string FormatNumber(double d)
    {
        double a = Math.Abs(d);
        if (a == 0) return "0";
        if (a >= 1e-3 && a < 1e6) return d.ToString(a >= 1000 ? "F0" : "G4", CultureInfo.InvariantCulture);
        return d.ToString("0.###e+0", CultureInfo.InvariantCulture);
    }

    private void WriteJson(Stream stream, DateTimeOffset generated)
    {
        using var w = new Utf8JsonWriter(stream, JsonPolicy.WriterOptions);
        w.WriteStartObject();
        w.WriteString("title", Title);
        if (Subtitle is not null) w.WriteString("subtitle", Subtitle);
        w.WriteString("tool_version", ToolVersion);
        w.WriteString("generated", generated);
        if (CommandLine is not null) w.WriteString("command", CommandLine);
        w.WriteObjectArray("findings", Findings, static (w, f) =>
        {
            w.WriteString("text", f.Text);
            w.WriteString("level", f.Level.ToString().ToLowerInvariant());
            if (f.SectionId is not null) w.WriteString("section", f.SectionId);
        });
        w.WriteObjectArray("sections", Sections, static (w, s) =>
        {
            w.WriteString("id", s.Id);
            w.WriteString("title", s.Title);
            if (s.CommandLine is not null) w.WriteString("command", s.CommandLine);
            w.WriteObjectArray("figures", s.Figures, static (w, f) => { w.WriteString("id", f.Id); w.WriteString("caption", f.Caption); });
            w.WriteObjectArray("tables", s.Tables, static (w, t) =>
            {
                w.WriteString("id", t.Id);
                w.WriteString("title", t.Title);
                w.WriteStringArray("columns", t.Columns);
                w.WriteStartArray("rows");
                foreach (var row in t.Rows)
                {
                    w.WriteStartArray();
                    foreach (var cell in row) WriteCell(w, cell);
                    w.WriteEndArray();
                }
                w.WriteEndArray();
            });
            w.WriteStringArray("notes", s.Notes);
        });
        w.WriteEndObject();
    }

    private static void WriteCell(Utf8JsonWriter w, object? cell)
    {
        switch (cell)
        {
            case null: w.WriteNullValue(); break;
            case string str: w.WriteStringValue(str); break;
            case bool b: w.WriteBooleanValue(b); break;
            case long or int: w.WriteNumberValue(Convert.ToInt64(cell, CultureInfo.InvariantCulture)); break;
            default: JsonNumbers.WriteValue(w, Convert.ToDouble(cell, CultureInfo.InvariantCulture)); break;
        }
    }

    /// <summary>Drops the XML declaration and gives the root a viewBox, so the figure scales to its box instead of
    /// being cropped (ScottPlot writes only width and height).</summary>
    internal static string InlineSvg(string svg)
    {
        int start = svg.IndexOf("<svg", StringComparison.Ordinal);
        if (start > 0) svg = svg[start..];
        int end = svg.IndexOf('>');
        if (end < 0) return svg;
        string tag = svg[..end];
        if (tag.Contains("viewBox", StringComparison.Ordinal)) return svg;
        var w = System.Text.RegularExpressions.Regex.Match(tag, "\\swidth=\"([0-9.]+)\"");
        var h = System.Text.RegularExpressions.Regex.Match(tag, "\\sheight=\"([0-9.]+)\"");
        if (!w.Success || !h.Success) return svg;
        return $"{tag} viewBox=\"0 0 {w.Groups[1].Value} {h.Groups[1].Value}\" preserveAspectRatio=\"xMidYMid meet\"{svg[end..]}";
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private const string Css = """
        :root{--ink:#1d2433;--muted:#5b6577;--line:#dde2ea;--bg:#f6f8fb;--card:#fff;--accent:#2f6fdf;--good:#1f8a4c;--warn:#c2410c}
        *{box-sizing:border-box}
        body{margin:0;font-family:"DejaVu Sans",Verdana,sans-serif;color:var(--ink);background:var(--bg);line-height:1.45;font-size:15px}
        header{background:linear-gradient(120deg,#1f3a68,#2f6fdf);color:#fff;padding:28px 40px 22px}
        header h1{margin:0 0 6px;font-size:28px;letter-spacing:.2px}
        header .subtitle{margin:0 0 6px;font-size:16px;opacity:.95}
        header .meta{margin:0;font-size:13px;opacity:.8}
        header pre.cmd{background:rgba(0,0,0,.25);color:#fff;border:0}
        main{max-width:1320px;margin:0 auto;padding:24px 40px 40px}
        section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 24px;margin:0 0 22px;box-shadow:0 1px 2px rgba(20,30,50,.05)}
        h2{margin:0 0 10px;font-size:21px;color:#1f3a68}
        h3{font-size:16px;margin:18px 0 8px}
        h3 .rows{color:var(--muted);font-weight:normal;font-size:13px}
        a{color:var(--accent);text-decoration:none} a:hover{text-decoration:underline}
        pre.cmd{font-family:"DejaVu Sans Mono",monospace;font-size:13px;background:#f0f3f8;border:1px solid var(--line);border-radius:6px;padding:8px 12px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
        ul.findings{list-style:none;padding:0;margin:0 0 12px}
        ul.findings li{padding:8px 12px 8px 34px;margin:6px 0;border-radius:6px;background:#eef3fb;position:relative;font-size:15.5px}
        ul.findings li::before{content:"●";position:absolute;left:13px;color:var(--accent)}
        ul.findings li.good{background:#e9f6ee} ul.findings li.good::before{content:"✔";color:var(--good)}
        ul.findings li.warning{background:#fdf0e7} ul.findings li.warning::before{content:"▲";color:var(--warn)}
        ul.findings li a{color:inherit}
        nav{font-size:14px;color:var(--muted)}
        .figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:16px;margin:12px 0}
        figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:8px;background:#fff}
        figure svg{width:100%;height:auto;display:block}
        figcaption{font-size:13px;color:var(--muted);padding:6px 4px 0}
        .table-wrap{overflow-x:auto;max-height:560px;overflow-y:auto;border:1px solid var(--line);border-radius:6px}
        table{border-collapse:collapse;width:100%;font-size:13.5px}
        th{position:sticky;top:0;background:#eef2f8;text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);cursor:pointer;white-space:nowrap;user-select:none}
        th:hover{background:#e1e8f3} th.asc::after{content:" ▲"} th.desc::after{content:" ▼"}
        td{padding:5px 10px;border-bottom:1px solid #eef1f5;white-space:nowrap}
        td.num{text-align:right;font-variant-numeric:tabular-nums} td.na{color:#9aa3b2}
        tbody tr:nth-child(even){background:#fafbfd} tbody tr:hover{background:#f1f6ff}
        ul.notes{font-size:13px;color:var(--muted)}
        footer{text-align:center;color:var(--muted);font-size:12.5px;padding:0 0 30px}
        """;

    // Click a header to sort by that column; numbers sort by their data-v value, text alphabetically.
    private const string SortScript = """
        document.querySelectorAll("table.sortable th").forEach(function(th){th.addEventListener("click",function(){
        var i=th.cellIndex,tb=th.closest("table").tBodies[0],rows=Array.from(tb.rows),asc=!th.classList.contains("asc");
        th.parentNode.querySelectorAll("th").forEach(function(x){x.classList.remove("asc","desc")});th.classList.add(asc?"asc":"desc");
        function key(r){var c=r.cells[i];return c.dataset.v!==undefined?parseFloat(c.dataset.v):c.textContent}
        rows.sort(function(a,b){var x=key(a),y=key(b);var r=(typeof x==="number"&&typeof y==="number")?x-y:String(x).localeCompare(String(y));return asc?r:-r});
        rows.forEach(function(r){tb.appendChild(r)})})});
        """;
}
