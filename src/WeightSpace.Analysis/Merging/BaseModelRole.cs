namespace WeightSpace.Analysis.Merging;

/// <summary>How a merge method uses the configuration's <c>base_model</c>.</summary>
public enum BaseModelRole
{
    /// <summary>The base is θ₀ of task vectors and must be given; it is removed from the merged models.</summary>
    Required,
    /// <summary>Task vectors are taken against the base when one is given; otherwise raw weights are merged.</summary>
    Optional,
    /// <summary>The base gets no special treatment: if it is listed under <c>models</c> it is merged like any other.</summary>
    Ignored,
    /// <summary>The base is one more merged model (not θ₀): added to the models when it is not listed, then merged like
    /// the others (mergekit's karcher, whose kernel takes every gathered tensor, the base's included).</summary>
    Included,
}
