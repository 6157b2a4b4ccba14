using TorchSharp;

namespace WeightSpace.Tests.Torch;

/// <summary>Proves the build's ELF fix (Directory.Build.targets) took effect and TorchSharp really computes.</summary>
public sealed class TorchSharpNativeTests
{
    [Fact]
    public void CopiedLibTorchSharp_HasWeakGlibcxx3432Need()
    {
        string lib = Directory.GetFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).Single();
        Assert.True(ElfVersionNeeds.IsWeak(lib, "GLIBCXX_3.4.32") ?? true,
            "libLibTorchSharp.so still hard-requires GLIBCXX_3.4.32: the WeakenGlibcxxVersionNeed build target did not run.");
    }

    [Fact]
    public void Svdvals_OfDiagonalMatrix_ReturnsSortedAbsDiagonal()
    {
        using var scope = torch.NewDisposeScope();
        var w = torch.diag(torch.tensor(new float[] { 1f, -5f, 3f }));
        var s = torch.linalg.svdvals(w).data<float>().ToArray();
        Assert.Equal(new[] { 5f, 3f, 1f }, s);
    }

    [Fact]
    public void LinearLayer_OneSgdStep_ReducesLoss()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(1);
        var layer = torch.nn.Linear(4, 1);
        var x = torch.randn(32, 4);
        var y = x.sum(1, keepdim: true);
        var opt = torch.optim.SGD(layer.parameters(), 0.1);
        double before = torch.nn.functional.mse_loss(layer.forward(x), y).item<float>();
        for (int i = 0; i < 5; i++)
        {
            opt.zero_grad();
            var loss = torch.nn.functional.mse_loss(layer.forward(x), y);
            loss.backward();
            opt.step();
        }
        double after = torch.nn.functional.mse_loss(layer.forward(x), y).item<float>();
        Assert.True(after < before, $"loss {before} -> {after}");
    }
}
