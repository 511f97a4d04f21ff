using System.CommandLine;
using EmbeddedVectors.Tools;

namespace EmbeddedVectors.Cli;

/// <summary>The arguments and options several <c>ev</c> commands share, spelled and defaulted once.</summary>
internal static class EvOptions
{
    public static readonly OptionBuilder Build = new();

    /// <summary>The store directory, checked by the command itself so that a missing one gets the command's own message.</summary>
    public static Argument<string?> StoreDirectory() => new("DIR") { Description = "The store (a directory).", Arity = ArgumentArity.ZeroOrOne };

    /// <summary>The value of <paramref name="argument"/>, or a user error naming <paramref name="what"/>.</summary>
    public static string Require(this ParseResult result, Argument<string?> argument, string what)
        => result.GetValue(argument) ?? throw new UserErrorException($"Missing {what}.");

    public static Option<string?> Queries() => Build.Required("queries", "The queries (.fvecs, .bvecs or .npy).", "FILE");
    public static Option<string?> GroundTruth() => Build.Required("gt", "The true nearest neighbours of each query, as row numbers (.ivecs).", "G.ivecs");
    public static Option<int[]> NProbes() => Build.IntList("nprobe", "The nprobe values to measure.", [1, 2, 4, 8, 16, 32, 64]);
    public static Option<int[]> Reranks() => Build.IntList("rerank", "The re-rank depths to measure (0: none).", [0], min: 0);
    public static Option<int> K() => Build.Int("k", "Neighbours a query.", 10, min: 1);
    public static Option<int> BenchThreads() => Build.Int("threads", "Threads of the batch search (0: all cores).", 1, min: 0);
    public static Option<string?> BenchJson() => Build.String("json", "Also write the report to this JSON file.", "out.json");
    public static Option<int> NList() => Build.Int("nlist", "Inverted lists (k-means clusters).", 1024, min: 1);
    public static Option<string?> Codes() => Build.String("codes", "pq8 (8-bit PQ, the default) or pq4fs (4-bit fast-scan PQ).", "pq8|pq4fs");
    public static Option<string?> Metric() => Build.String("metric", "l2 (the default), ip or cosine.", "l2|ip|cosine");
    public static Option<bool> Flag(string name, string description) => OptionBuilder.Flag(name, description);
}
