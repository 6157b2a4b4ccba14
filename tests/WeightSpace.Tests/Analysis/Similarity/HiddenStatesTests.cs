using WeightSpace.Analysis.Language;
using WeightSpace.Analysis.Similarity;

namespace WeightSpace.Tests.Analysis.Similarity;

public sealed class HiddenStatesTests
{
    [Fact]
    public void Hidden_states_start_at_the_embeddings_and_end_where_norm_and_head_give_the_logits()
    {
        string folder = SharedData.Require("llm/base-f32");
        using var lm = CausalLanguageModel.Open(folder);
        int[] ids = [.. "def f(x):\n    return x"u8.ToArray().Select(b => (int)b)];
        var states = lm.HiddenStates(ids, 1);
        Assert.Equal(lm.Config.LayerCount + 1, states.Length);
        int h = lm.Config.HiddenSize;
        var embed = lm.Weights.ReadSingle("model.embed_tokens.weight");
        for (int t = 0; t < ids.Length; t++)
            Assert.Equal(embed.AsSpan(ids[t] * h, h).ToArray(), states[0].AsSpan(t * h, h).ToArray());
        // RMSNorm then lm_head on the last state reproduces the model's logits.
        var norm = lm.Weights.ReadSingle("model.norm.weight");
        var head = lm.Weights.ReadSingle("lm_head.weight");
        var logits = lm.Logits(ids, 1);
        int vocab = lm.Config.VocabularySize;
        for (int t = 0; t < ids.Length; t += 5)
        {
            var x = states[^1].AsSpan(t * h, h);
            double ms = 0;
            foreach (float v in x) ms += (double)v * v;
            double scale = 1 / Math.Sqrt(ms / h + lm.Config.RmsNormEpsilon);
            for (int v = 0; v < vocab; v += 17)
            {
                double logit = 0;
                for (int i = 0; i < h; i++) logit += x[i] * scale * norm[i] * head[v * h + i];
                Assert.Equal(logits[(t * vocab) + v], logit, 1e-3);
            }
        }
    }

    [Fact]
    public void Consecutive_blocks_and_the_same_block_of_two_models_on_the_eval_text()
    {
        string b = SharedData.RequireModel("llm/base"), ft = SharedData.Require("llm/ft-python"), text = SharedData.Require("llm/eval/python.txt");
        var report = LayerSimilarity.Analyze(ft, b, text, new LayerSimilarityOptions { MaxWindows = 4 }, TestContext.Current.CancellationToken);
        Assert.Equal(4 * 128, report.Samples);
        Assert.Equal(4, report.Blocks.Count);
        Assert.Equal(5, report.CrossModel.Count);
        Assert.All(report.Blocks, r => Assert.InRange(r.Scores.Cka, 0, 1));
        Assert.All(report.Blocks, r => Assert.InRange(r.Scores.Linearity, 2 * r.Scores.Procrustes!.Value - 1 - 1e-9, 1));
        // Both models embed the text the same way up to the fine-tune's change of embed_tokens: state 0 is nearly identical.
        Assert.True(report.CrossModel[0].Scores.Cka > 0.9, $"state 0 CKA {report.CrossModel[0].Scores.Cka}");
        Assert.Equal(7 * 3, report.ConsecutiveWeights.Count);   // q,k,v,o,gate,up,down of blocks 0…2 against the next block
        Assert.Equal(7 * 4, report.CrossModelWeights.Count);
    }
}
