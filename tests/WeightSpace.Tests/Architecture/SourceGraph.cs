using System.Text.RegularExpressions;

namespace WeightSpace.Tests.Architecture;

/// <summary>The folder dependency graph of src/, read from the C# sources: folder F depends on folder G when a file in
/// F names a type declared in G that is in scope there (through its namespace, an enclosing namespace, a
/// <c>using</c> — in the file, a <c>global using</c> anywhere in its project, or a project-level <c>&lt;Using Include&gt;</c>
/// in its .csproj — or a qualified name). Comments and string literals are ignored; a partial type belongs to the folder
/// its namespace names. Approximate by design (it matches type names, not symbols), but every edge it reports lists
/// the file and the type, so a false one is easy to see and fix by renaming.</summary>
internal sealed partial class SourceGraph
{
    private SourceGraph(Dictionary<string, Dictionary<string, SortedSet<string>>> edges) => Edges = edges;

    /// <summary>Folder (project-relative, e.g. <c>Analysis/Merging/Planning</c>) → folder → evidence (<c>File.cs:Type</c>).</summary>
    public IReadOnlyDictionary<string, Dictionary<string, SortedSet<string>>> Edges { get; }

    /// <summary>Reads every .cs file under <paramref name="srcRoot"/> (bin/ and obj/ excluded).</summary>
    /// <param name="srcRoot">The src folder.</param>
    /// <param name="ignored">(file, type) references not counted (type <c>*</c>: all of the file's): a registry file's list of
    /// built-in implementations.</param>
    public static SourceGraph Read(string srcRoot, IReadOnlyCollection<(string File, string Type)> ignored)
    {
        var files = Directory.EnumerateFiles(srcRoot, "*.cs", SearchOption.AllDirectories)
            .Where(p => !p.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .Select(p => new SourceFile(p, FolderOf(srcRoot, p), Strip(File.ReadAllText(p))))
            .ToList();
        // Global usings apply to every file of their project (the first folder segment, e.g. "Analysis").
        var globalUsings = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        HashSet<string> GlobalsOf(string project) =>
            globalUsings.TryGetValue(project, out var set) ? set : globalUsings[project] = new(StringComparer.Ordinal);
        foreach (string csproj in Directory.EnumerateFiles(srcRoot, "*.csproj", SearchOption.AllDirectories))
            foreach (Match m in ProjectUsing().Matches(File.ReadAllText(csproj)))
                GlobalsOf(ProjectOf(FolderOf(srcRoot, csproj))).Add(m.Groups[1].Value);
        foreach (var f in files)
            foreach (Match m in GlobalUsingNamespace().Matches(f.Code))
                GlobalsOf(ProjectOf(f.Folder)).Add(m.Groups[1].Value);
        // Declared types: (namespace, name) → folders; a partial type spread over folders lives where its namespace says.
        var declared = new Dictionary<(string Namespace, string Name), HashSet<string>>();
        foreach (var f in files)
            foreach (Match m in TypeDeclaration().Matches(f.Code))
            {
                var key = (f.Namespace, m.Groups[1].Value);
                if (!declared.TryGetValue(key, out var set)) declared[key] = set = [];
                set.Add(f.Folder);
            }
        foreach (var (key, folders) in declared)
        {
            string home = folders.FirstOrDefault(f => NamespaceMatches(key.Namespace, f)) ?? folders.Order(StringComparer.Ordinal).First();
            folders.Clear();
            folders.Add(home);
        }
        var byName = declared.GroupBy(d => d.Key.Name).ToDictionary(g => g.Key, g => g.Select(d => (d.Key.Namespace, Folder: d.Value.Single())).ToList());

        var edges = new Dictionary<string, Dictionary<string, SortedSet<string>>>(StringComparer.Ordinal);
        void Add(SourceFile f, string to, string type)
        {
            if (to == f.Folder || ignored.Contains((f.RelativePath, type)) || ignored.Contains((f.RelativePath, "*"))) return;
            if (!edges.TryGetValue(f.Folder, out var targets)) edges[f.Folder] = targets = new(StringComparer.Ordinal);
            if (!targets.TryGetValue(to, out var evidence)) targets[to] = evidence = new(StringComparer.Ordinal);
            evidence.Add($"{Path.GetFileName(f.Path)}:{type}");
        }
        foreach (var f in files)
        {
            var scope = new HashSet<string>(f.Usings, StringComparer.Ordinal);
            if (globalUsings.TryGetValue(ProjectOf(f.Folder), out var globals)) scope.UnionWith(globals);
            string[] parts = f.Namespace.Split('.');
            for (int i = 1; i <= parts.Length; i++) scope.Add(string.Join('.', parts[..i]));
            string body = UsingDirective().Replace(f.Code, "");
            foreach (Match q in QualifiedName().Matches(body))
            {
                string[] segments = q.Value.Split('.');
                for (int i = 1; i < segments.Length; i++)
                    if (declared.TryGetValue((string.Join('.', segments[..i]), segments[i]), out var folders))
                        Add(f, folders.Single(), segments[i]);
            }
            foreach (string token in Identifier().Matches(body).Select(m => m.Value).Distinct())
                if (byName.TryGetValue(token, out var candidates))
                    foreach (var (ns, folder) in candidates)
                        if (scope.Contains(ns)) Add(f, folder, token);
        }
        return new SourceGraph(edges);
    }

    /// <summary>Every set of folders that depend on each other in a circle (strongly connected components of two or more).</summary>
    public IReadOnlyList<IReadOnlyList<string>> Cycles()
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var result = new List<IReadOnlyList<string>>();
        int counter = 0;
        void Visit(string v)
        {
            index[v] = low[v] = counter++;
            stack.Push(v);
            onStack.Add(v);
            foreach (string w in Edges.TryGetValue(v, out var targets) ? targets.Keys : Enumerable.Empty<string>())
            {
                if (!index.ContainsKey(w)) { Visit(w); low[v] = Math.Min(low[v], low[w]); }
                else if (onStack.Contains(w)) low[v] = Math.Min(low[v], index[w]);
            }
            if (low[v] != index[v]) return;
            var component = new List<string>();
            string x;
            do { x = stack.Pop(); onStack.Remove(x); component.Add(x); } while (x != v);
            if (component.Count > 1) result.Add(component.Order(StringComparer.Ordinal).ToList());
        }
        foreach (string v in Edges.Keys.Concat(Edges.Values.SelectMany(t => t.Keys)).Distinct().Order(StringComparer.Ordinal))
            if (!index.ContainsKey(v)) Visit(v);
        return result;
    }

    /// <summary>A readable account of a cycle: every edge inside it with its evidence.</summary>
    public string Describe(IReadOnlyList<string> cycle) => string.Join(Environment.NewLine,
        from a in cycle
        from b in cycle
        where Edges.TryGetValue(a, out var t) && t.ContainsKey(b)
        select $"  {a} -> {b}: {string.Join(", ", Edges[a][b].Take(6))}");

    private static bool NamespaceMatches(string ns, string folder)
    {
        // "WeightSpace.Analysis.Merging.Planning" lives in "Analysis/Merging/Planning"; Core uses the root namespace.
        string expected = ns.StartsWith("WeightSpace.", StringComparison.Ordinal) ? ns["WeightSpace.".Length..].Replace('.', '/') : "";
        return folder == expected || folder.EndsWith("/" + expected, StringComparison.Ordinal) || (expected.Length == 0 && folder.StartsWith("Core", StringComparison.Ordinal));
    }

    private static string FolderOf(string srcRoot, string path)
    {
        string relative = Path.GetRelativePath(srcRoot, Path.GetDirectoryName(path)!).Replace(Path.DirectorySeparatorChar, '/');
        return relative.StartsWith("WeightSpace.", StringComparison.Ordinal) ? relative["WeightSpace.".Length..] : relative;
    }

    private static string ProjectOf(string folder) => folder.Split('/')[0];

    private static string Strip(string code)
    {
        code = BlockComment().Replace(code, "");
        code = LineComment().Replace(code, "");
        code = RawString().Replace(code, "\"\"");
        return StringLiteral().Replace(code, "\"\"");
    }

    private sealed class SourceFile
    {
        public SourceFile(string path, string folder, string code)
        {
            Path = path;
            Folder = folder;
            Code = code;
            Namespace = NamespaceDeclaration().Match(code) is { Success: true } m ? m.Groups[1].Value : "";
            Usings = [.. UsingNamespace().Matches(code).Select(u => u.Groups[1].Value)];
            RelativePath = folder + "/" + System.IO.Path.GetFileName(path);
        }

        public string Path { get; }
        public string Folder { get; }
        public string Code { get; }
        public string Namespace { get; }
        public string[] Usings { get; }
        public string RelativePath { get; }
    }

    [GeneratedRegex(@"/\*.*?\*/", RegexOptions.Singleline)] private static partial Regex BlockComment();
    [GeneratedRegex(@"//[^\n]*")] private static partial Regex LineComment();
    [GeneratedRegex("\\$*@?\"\"\"+.*?\"\"\"+", RegexOptions.Singleline)] private static partial Regex RawString();
    [GeneratedRegex("\\$?@?\"(?:[^\"\\\\\\n]|\\\\.)*\"")] private static partial Regex StringLiteral();
    [GeneratedRegex(@"\b(?:class|record|struct|interface|enum)\s+(?:struct\s+|class\s+)?([A-Z]\w*)")] private static partial Regex TypeDeclaration();
    [GeneratedRegex(@"^namespace\s+([\w.]+)", RegexOptions.Multiline)] private static partial Regex NamespaceDeclaration();
    [GeneratedRegex(@"^using\s+(?:static\s+)?([\w.]+)\s*;", RegexOptions.Multiline)] private static partial Regex UsingNamespace();
    [GeneratedRegex(@"^global\s+using\s+(?:static\s+)?([\w.]+)\s*;", RegexOptions.Multiline)] private static partial Regex GlobalUsingNamespace();
    [GeneratedRegex(@"<Using\s+Include=""([\w.]+)""\s*/>")] private static partial Regex ProjectUsing();
    [GeneratedRegex(@"^(?:global\s+)?using[^\n]*", RegexOptions.Multiline)] private static partial Regex UsingDirective();
    [GeneratedRegex(@"\bWeightSpace(?:\.\w+)+")] private static partial Regex QualifiedName();
    [GeneratedRegex(@"(?<![\w.])[A-Z]\w*\b")] private static partial Regex Identifier();
}
