using System.Text;

namespace EmbeddedVectors.Tests.Store;

/// <summary>Rows of the real data set as store entries: row i has id i.</summary>
internal static class RealRows
{
    public static ReadOnlySpan<float> Row(int row) => RealData.Instance.Base.AsSpan(row * RealData.Instance.Dimension, RealData.Instance.Dimension);

    /// <summary>Adds rows <paramref name="from"/>..+<paramref name="count"/> in one batch, each with the payload <paramref name="payload"/>(id).</summary>
    public static void Add(EmbeddedVectorStore store, int from, int count, Func<int, string> payload)
    {
        var ids = new long[count];
        var payloads = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            ids[i] = from + i;
            payloads[i] = Encoding.UTF8.GetBytes(payload(from + i));
        }
        store.AddRange(ids, RealData.Instance.Base.AsSpan(from * RealData.Instance.Dimension, count * RealData.Instance.Dimension), payloads);
    }
}
