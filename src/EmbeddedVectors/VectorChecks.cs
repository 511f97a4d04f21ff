
namespace EmbeddedVectors;

/// <summary>Argument checks shared by every public entry point that takes vectors.</summary>
internal static class VectorChecks
{
    /// <summary>Throws when a value is NaN or infinite, naming the row and column.</summary>
    public static void ThrowIfNotFinite(ReadOnlySpan<float> values, int dimension, string parameterName)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
                throw new ArgumentException(
                    $"Vector {i / dimension} has a {(float.IsNaN(values[i]) ? "NaN" : "infinite")} value at position {i % dimension}; only finite values can be indexed or searched.",
                    parameterName);
        }
    }

    /// <summary>Throws unless <paramref name="values"/> holds a whole number of rows of <paramref name="dimension"/>; returns the row count.</summary>
    public static int RowCount(ReadOnlySpan<float> values, int dimension, string parameterName)
    {
        if (values.Length % dimension != 0)
            throw new ArgumentException(
                $"Expected whole {dimension}-dimensional vectors (a multiple of {dimension} values); got {values.Length} values. Wrong dimension?", parameterName);
        return values.Length / dimension;
    }

    /// <summary>Whole rows of finite values: the check every public entry point that takes vectors makes. Returns the row count.</summary>
    public static int CheckRows(ReadOnlySpan<float> values, int dimension, string parameterName)
    {
        int rows = RowCount(values, dimension, parameterName);
        ThrowIfNotFinite(values, dimension, parameterName);
        return rows;
    }
}
