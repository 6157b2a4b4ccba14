using WeightSpace.Analysis.Naming;
using WeightSpace.Analysis.TaskVectors;
using WeightSpace.Reports.Transformer;

namespace WeightSpace.Tests.Analysis.Naming;

/// <summary>The block × role matrix behind the transformer heatmaps: right cells from named tensors, fallback otherwise.</summary>
public sealed class LayerRoleGridTests
{
    [Fact]
    public void Build_LlamaNames_PlacesEachValueAtItsBlockAndRole()
    {
        var grid = LayerRoleGrid.Build(
        [
            ("model.layers.0.self_attn.q_proj.weight", 1.0),
            ("model.layers.0.mlp.down_proj.weight", 2.0),
            ("model.layers.1.self_attn.q_proj.weight", 3.0),
            ("model.layers.1.self_attn.q_proj.bias", 99.0),   // biases are not the weight's cell
            ("model.layers.1.mlp.up_proj.weight", null),      // not analysed: empty cell
            ("model.embed_tokens.weight", 5.0),
            ("lm_head.weight", 6.0),
        ]);
        Assert.NotNull(grid);
        Assert.Equal([0, 1], grid.Layers);
        Assert.Equal([TensorRole.Query, TensorRole.Down], grid.Roles);
        Assert.Equal(1.0, grid[0, TensorRole.Query]);
        Assert.Equal(2.0, grid[0, TensorRole.Down]);
        Assert.Equal(3.0, grid[1, TensorRole.Query]);
        Assert.True(double.IsNaN(grid[1, TensorRole.Down]));
        Assert.True(double.IsNaN(grid[1, TensorRole.Up]));
        Assert.Equal(new Dictionary<string, double> { ["model.embed_tokens.weight"] = 5.0, ["lm_head.weight"] = 6.0 }, grid.Outside);
    }

    [Fact]
    public void Build_UnknownNaming_ReturnsNullForTheFlatFallback()
    {
        Assert.Null(LayerRoleGrid.Build([("fc1.weight", 1.0), ("fc2.weight", 2.0), ("conv.0.weight", 3.0)]));
    }

    [Fact]
    public void DiffGrids_TinyNamedStore_RelativeChangeCellsAreHandComputed()
    {
        // θ₀ = I₂ in both blocks' q_proj and [1, 1] in o_proj; the fine-tune adds (3, 4)/‖(1,1)‖ … hand-computed ratios:
        // block 0 q: Δ = diag(0.5, 0) → ‖Δ‖/‖θ₀‖ = 0.5/√2; block 1 q: Δ = 0; block 0 o: Δ = [3, 4] → 5/√2.
        var theta0 = new InMemoryTensorStore("base")
            .Add("model.layers.0.self_attn.q_proj.weight", [1, 0, 0, 1], 2, 2)
            .Add("model.layers.1.self_attn.q_proj.weight", [1, 0, 0, 1], 2, 2)
            .Add("model.layers.0.self_attn.o_proj.weight", [1, 1], 1, 2);
        var ft = new InMemoryTensorStore("ft")
            .Add("model.layers.0.self_attn.q_proj.weight", [1.5f, 0, 0, 1], 2, 2)
            .Add("model.layers.1.self_attn.q_proj.weight", [1, 0, 0, 1], 2, 2)
            .Add("model.layers.0.self_attn.o_proj.weight", [4, 5], 1, 2);
        var report = TaskVectorAnalysis.Analyze(theta0, [ft], ct: TestContext.Current.CancellationToken);
        var grids = LayerRolePlots.DiffGrids(report);
        var relative = grids.Single(g => g.Stem == "model1.relative-change").Grid;
        Assert.Equal([TensorRole.Query, TensorRole.AttentionOutput], relative.Roles);
        Assert.Equal(0.5 / Math.Sqrt(2), relative[0, TensorRole.Query], 1e-6);
        Assert.Equal(0, relative[1, TensorRole.Query], 1e-12);
        Assert.Equal(5 / Math.Sqrt(2), relative[0, TensorRole.AttentionOutput], 1e-6);
        Assert.True(double.IsNaN(relative[1, TensorRole.AttentionOutput]));
        string dir = SharedData.TempFolder();
        var files = LayerRolePlots.WriteAll(grids, dir);
        Assert.Contains(Path.Combine(dir, "layer-role.model1.relative-change.heatmap.svg"), files);
        Assert.All(files, f => Assert.True(new FileInfo(f).Length > 0));
    }

    [Fact]
    public void DiffGrids_UnknownNaming_IsEmpty()
    {
        var a = new InMemoryTensorStore("a").Add("fc1.weight", [1, 0, 0, 1], 2, 2);
        var b = new InMemoryTensorStore("b").Add("fc1.weight", [2, 0, 0, 1], 2, 2);
        Assert.Empty(LayerRolePlots.DiffGrids(TaskVectorAnalysis.Analyze(a, [b], ct: TestContext.Current.CancellationToken)));
    }
}
