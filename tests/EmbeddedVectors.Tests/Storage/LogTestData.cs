using EmbeddedVectors.Storage;

namespace EmbeddedVectors.Tests.Storage;

/// <summary>Vectors, payloads and a Replay-to-list helper shared by the payload log tests.</summary>
internal static class LogTestData
{
    public static float[] Vector(long id, int dimension)
    {
        var v = new float[dimension];
        for (int i = 0; i < dimension; i++) v[i] = id * 1000 + i + 0.25f;
        return v;
    }

    public static byte[] Payload(long id, int length)
    {
        var p = new byte[length];
        new Random(unchecked((int)id) ^ length).NextBytes(p);
        return p;
    }

    /// <summary>A copy of a record seen by Replay (the view itself must not outlive the handler call).</summary>
    public sealed record Seen(LogRecordKind Kind, long Id, float[] Vector, byte[] Payload, long Address);

    public static List<Seen> ReplayAll(IPayloadLog log, long from = 0)
    {
        var seen = new List<Seen>();
        log.Replay(from, (in LogRecordView r) => seen.Add(new Seen(r.Kind, r.Id, r.Vector.ToArray(), r.Payload.ToArray(), r.Address)));
        return seen;
    }
}
