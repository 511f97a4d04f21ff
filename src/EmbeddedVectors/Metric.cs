namespace EmbeddedVectors;

/// <summary>How nearness is measured. Every index reports distances where smaller means nearer.</summary>
public enum Metric
{
    /// <summary>Squared Euclidean distance.</summary>
    L2 = 0,

    /// <summary>Inner product; the reported distance is the negated inner product, so smaller is nearer.</summary>
    InnerProduct = 1,

    /// <summary>
    /// Cosine: vectors and queries are normalised to unit length, and the reported distance is
    /// <c>1 − cos(x, y)</c>. Internally it ranks as L2 on the normalised vectors (‖x − y‖² = 2 − 2 cos).
    /// </summary>
    Cosine = 2,
}

/// <summary>The rule every index and the store rank by.</summary>
internal static class MetricRanking
{
    /// <summary>
    /// The metric the algorithms rank by: inner product stays inner product (ranked by −⟨q, x⟩); L2 and cosine
    /// rank by squared L2 (cosine on unit-length vectors, where ‖x − y‖² = 2 − 2 cos).
    /// </summary>
    public static Metric RankingMetric(this Metric metric) => metric == Metric.InnerProduct ? Metric.InnerProduct : Metric.L2;
}

/// <summary>Parsing and naming of <see cref="Metric"/> values as the CLI and files spell them.</summary>
public static class MetricNames
{
    /// <summary>Parses <c>l2</c>, <c>ip</c> (or <c>inner_product</c>, <c>dot</c>) and <c>cosine</c> (or <c>cos</c>), case-insensitively.</summary>
    /// <exception cref="ArgumentException">The name is none of those.</exception>
    public static Metric Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "l2" or "euclidean" => Metric.L2,
            "ip" or "inner_product" or "innerproduct" or "dot" => Metric.InnerProduct,
            "cosine" or "cos" => Metric.Cosine,
            _ => throw new ArgumentException($"Unknown metric '{name}'. Use l2, ip or cosine.", nameof(name)),
        };
    }

    /// <summary>The short name: <c>l2</c>, <c>ip</c> or <c>cosine</c>.</summary>
    public static string ToShortName(this Metric metric) => metric switch
    {
        Metric.L2 => "l2",
        Metric.InnerProduct => "ip",
        Metric.Cosine => "cosine",
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown metric."),
    };
}
