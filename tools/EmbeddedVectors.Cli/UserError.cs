namespace EmbeddedVectors.Cli;

/// <summary>A mistake on the command line or in the user's input: printed as one line on stderr, no stack trace.</summary>
internal sealed class UserErrorException(string message) : Exception(message);
