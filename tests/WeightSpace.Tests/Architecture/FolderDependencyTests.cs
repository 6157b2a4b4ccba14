using System.Text.RegularExpressions;

namespace WeightSpace.Tests.Architecture;

/// <summary>Keeps the folder graph of src/ one-way, and docs/architecture.md's picture of it true.</summary>
public sealed partial class FolderDependencyTests
{
    /// <summary>The composition roots: a parent folder's explicit list of the implementations its subfolders provide.
    /// They are the one allowed downward reference (the plug-in point), and nothing else in them is exempt.</summary>
    private static readonly (string File, string Type)[] Registries =
    [
        ("Formats/BuiltInFormats.cs", "*"),            // Checkpoint.Formats: the built-in formats, in sniffing order
        ("Cli/WeightSpaceCommandLine.cs", "Verbs"),   // the root command adds the verbs of Commands/Verbs.cs
    ];

    private static string Src => Path.Combine(SharedData.RepositoryRoot, "src");

    [Fact]
    public void SrcFolders_HaveNoDependencyCycle()
    {
        var graph = SourceGraph.Read(Src, Registries);
        var cycles = graph.Cycles();
        Assert.True(cycles.Count == 0, "folders that depend on each other:" + Environment.NewLine +
            string.Join(Environment.NewLine, cycles.Select(c => string.Join(" ⇄ ", c) + Environment.NewLine + graph.Describe(c))));
    }

    [Fact]
    public void Checker_FindsACycleBetweenTwoFolders()
    {
        string root = SharedData.TempFolder();
        Directory.CreateDirectory(Path.Combine(root, "WeightSpace.Demo", "A"));
        Directory.CreateDirectory(Path.Combine(root, "WeightSpace.Demo", "B"));
        File.WriteAllText(Path.Combine(root, "WeightSpace.Demo", "A", "Alpha.cs"),
            "using WeightSpace.Demo.B;\nnamespace WeightSpace.Demo.A;\n// Gamma in a comment is no reference\npublic sealed class Alpha { public Beta? Next; }\n");
        File.WriteAllText(Path.Combine(root, "WeightSpace.Demo", "B", "Beta.cs"),
            "namespace WeightSpace.Demo.B;\npublic sealed class Beta { public WeightSpace.Demo.A.Alpha? Back; }\n");
        File.WriteAllText(Path.Combine(root, "WeightSpace.Demo", "B", "Gamma.cs"),
            "namespace WeightSpace.Demo.B;\npublic sealed class Gamma { string S = \"Alpha\"; }\n");

        var graph = SourceGraph.Read(root, []);
        var cycle = Assert.Single(graph.Cycles());
        Assert.Equal(["Demo/A", "Demo/B"], cycle);
        Assert.Equal(["Alpha.cs:Beta"], graph.Edges["Demo/A"]["Demo/B"]);
        Assert.Equal(["Beta.cs:Alpha"], graph.Edges["Demo/B"]["Demo/A"]);
        Assert.Empty(SourceGraph.Read(root, [("Demo/B/Beta.cs", "Alpha")]).Cycles());
    }

    [Fact]
    public void Checker_SeesReferencesThroughGlobalUsings()
    {
        // A project-level <Using Include> or a global using makes a namespace visible without a using in the file:
        // the graph must still see the edge, or a cycle through it would go unnoticed.
        string root = SharedData.TempFolder();
        string project = Path.Combine(root, "WeightSpace.Demo");
        foreach (string folder in new[] { "A", "B", "C" }) Directory.CreateDirectory(Path.Combine(project, folder));
        File.WriteAllText(Path.Combine(project, "WeightSpace.Demo.csproj"),
            "<Project Sdk=\"Microsoft.NET.Sdk\"><ItemGroup><Using Include=\"WeightSpace.Demo.B\" /></ItemGroup></Project>\n");
        File.WriteAllText(Path.Combine(project, "GlobalUsings.cs"), "global using WeightSpace.Demo.C;\n");
        File.WriteAllText(Path.Combine(project, "A", "Alpha.cs"),
            "namespace WeightSpace.Demo.A;\npublic sealed class Alpha { public Beta? B; public Gamma? C; }\n");
        File.WriteAllText(Path.Combine(project, "B", "Beta.cs"), "namespace WeightSpace.Demo.B;\npublic sealed class Beta { }\n");
        File.WriteAllText(Path.Combine(project, "C", "Gamma.cs"), "namespace WeightSpace.Demo.C;\npublic sealed class Gamma { }\n");

        var graph = SourceGraph.Read(root, []);
        Assert.Equal(["Alpha.cs:Beta"], graph.Edges["Demo/A"]["Demo/B"]);
        Assert.Equal(["Alpha.cs:Gamma"], graph.Edges["Demo/A"]["Demo/C"]);
    }

    /// <summary>The "Analysis folders" block of docs/architecture.md lists, for every folder of WeightSpace.Analysis,
    /// exactly the Analysis folders it uses: a moved type or a new reference shows up here until the doc says so.</summary>
    [Fact]
    public void ArchitectureDoc_ListsTheRealAnalysisGraph()
    {
        var graph = SourceGraph.Read(Src, Registries);
        var actual = graph.Edges
            .Where(e => e.Key.StartsWith("Analysis", StringComparison.Ordinal))
            .ToDictionary(e => e.Key, e => e.Value.Keys.Where(k => k.StartsWith("Analysis/", StringComparison.Ordinal)).Select(k => k["Analysis/".Length..]).Order(StringComparer.Ordinal).ToList());
        string doc = File.ReadAllText(Path.Combine(SharedData.RepositoryRoot, "docs", "architecture.md"));
        var block = DocBlock().Match(doc);
        Assert.True(block.Success, "docs/architecture.md has no ```text block after '<!-- analysis-folders -->'");
        var documented = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (string line in block.Groups[1].Value.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] sides = line.Split("->", 2, StringSplitOptions.TrimEntries);
            documented["Analysis/" + sides[0]] = sides.Length < 2 || sides[1] == "-" ? [] : [.. sides[1].Split(',', StringSplitOptions.TrimEntries).Order(StringComparer.Ordinal)];
        }
        var folders = Directory.EnumerateFiles(Path.Combine(Src, "WeightSpace.Analysis"), "*.cs", SearchOption.AllDirectories)
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(p => "Analysis/" + Path.GetRelativePath(Path.Combine(Src, "WeightSpace.Analysis"), Path.GetDirectoryName(p)!).Replace(Path.DirectorySeparatorChar, '/'))
            .Distinct().Order(StringComparer.Ordinal).ToList();
        var expected = folders.Select(f => $"{f[("Analysis/".Length)..]} -> {(actual.TryGetValue(f, out var d) && d.Count > 0 ? string.Join(", ", d) : "-")}");
        var written = folders.Select(f => $"{f[("Analysis/".Length)..]} -> {(documented.TryGetValue(f, out var d) && d.Count > 0 ? string.Join(", ", d) : "-")}");
        string want = string.Join('\n', expected), have = string.Join('\n', written);
        Assert.True(want == have, $"the '<!-- analysis-folders -->' block of docs/architecture.md is out of date; the real graph is:\n{want}\n(documented:\n{have})");
    }

    [GeneratedRegex(@"<!-- analysis-folders -->\s*```text\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex DocBlock();
}
