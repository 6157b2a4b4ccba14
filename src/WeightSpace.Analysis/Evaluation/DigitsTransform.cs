namespace WeightSpace.Analysis.Evaluation;

/// <summary>Image transforms of the digits fine-tuning tasks (as the shared data's generator applies them to 8×8 images).</summary>
public enum DigitsTransform
{
    /// <summary>The images as they are.</summary>
    None,
    /// <summary>Each 8×8 image mirrored left-right.</summary>
    FlipLeftRight,
    /// <summary>1 − x for every pixel (x already scaled to [0, 1]).</summary>
    Invert,
}
