using WeightSpace.Analysis.TaskVectors;

namespace WeightSpace.Tests.Analysis.TaskVectors;

public sealed class SignConflictTests
{
    [Fact]
    public void Whole_CountsAgreeingAndConflictingSignsWhereBothChanged()
    {
        // τ₁ = [1, −1, 1, 0, 0], τ₂ = [1, 1, −1, 2, 0]: both non-zero at 0 (same sign), 1 and 2 (opposite).
        using var baseModel = new InMemoryTensorStore("base").Add("w", [0f, 0f, 0f, 0f, 0f], 5);
        using var a = new InMemoryTensorStore("a").Add("w", [1f, -1f, 1f, 0f, 0f], 5);
        using var b = new InMemoryTensorStore("b").Add("w", [1f, 1f, -1f, 2f, 0f], 5);
        var whole = TaskVectorAnalysis.Analyze(baseModel, [a, b], ct: TestContext.Current.CancellationToken).Whole;
        Assert.Equal(1 / 5.0, whole.SignAgreement[0][1], 12);
        Assert.Equal(2 / 5.0, whole.SignConflict[0][1], 12);
        Assert.Equal(whole.SignConflict[0][1], whole.SignConflict[1][0]);
        Assert.Equal(0, whole.SignConflict[0][0]);
        Assert.Equal(2 / 3.0, whole.ConflictShare(0, 1), 12);
        Assert.True(whole.ConflictsHeavily(0, 1));
        Assert.Equal(0, TaskVectorAnalysis.Analyze(baseModel, [a, a], ct: TestContext.Current.CancellationToken).Whole.ConflictShare(0, 1));
    }
}
