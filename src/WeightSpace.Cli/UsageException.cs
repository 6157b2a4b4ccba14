namespace WeightSpace.Cli;

/// <summary>A bad option value or combination found after parsing; exits with code 2 like a parse error.</summary>
internal sealed class UsageException(string message) : Exception(message);
