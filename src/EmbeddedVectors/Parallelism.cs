namespace EmbeddedVectors;

internal static class Parallelism
{
    /// <summary>Options for <see cref="Parallel"/> loops: <paramref name="threads"/> 0 means every core.</summary>
    public static ParallelOptions Options(int threads) => new()
    {
        MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount,
    };
}
